/// One operation at a time per volume (snapshot + replicate, a reception, a
/// standby update), in arrival order.
actor VolumeLocks {
    private var busy: Set<String> = []
    private var waiting: [String: [CheckedContinuation<Void, Never>]] = [:]

    /// Runs `body` holding the volume's lock. Nonisolated: the body runs in
    /// the caller's context and may use what the caller owns.
    nonisolated func withLock<T>(_ volume: String, _ body: () async throws -> T) async throws -> T {
        await acquire(volume)
        do {
            let result = try await body()
            await release(volume)
            return result
        } catch {
            await release(volume)
            throw error
        }
    }

    private func acquire(_ volume: String) async {
        if busy.insert(volume).inserted { return }
        await withCheckedContinuation { waiting[volume, default: []].append($0) }
    }

    private func release(_ volume: String) {
        if var queue = waiting[volume], !queue.isEmpty {
            let next = queue.removeFirst()
            waiting[volume] = queue
            next.resume()
        } else {
            busy.remove(volume)
        }
    }
}
