import Synchronization

/// The snapshots this node is receiving, by volume, each with a way to cut it
/// off. A reception holds the volume's lock while it waits for blobs; from an
/// owner that went silent (frozen, cut off by a partition) nothing comes and
/// nothing fails until the peer timeout (`Heartbeat`, 30 s by default). A node that
/// takes the volume over, or learns of a newer owner, cuts those receptions
/// first so it does not wait behind them: what they verified stays in the store.
final class Receptions: Sendable {
    private struct Entry {
        let volume: String
        let peer: String
        let close: @Sendable () -> Void
    }

    private let state = Mutex<(next: Int, active: [Int: Entry])>((0, [:]))

    /// Runs `body` (the reception, with or without the volume's lock) registered;
    /// `close` ends the session it reads from.
    func receiving<T>(_ volume: String, from peer: String, close: @escaping @Sendable () -> Void,
                      _ body: () async throws -> T) async throws -> T {
        let token = state.withLock { state in
            state.next += 1
            state.active[state.next] = Entry(volume: volume, peer: peer, close: close)
            return state.next
        }
        defer { _ = state.withLock { $0.active.removeValue(forKey: token) } }
        return try await body()
    }

    /// Closes the sessions of every reception of `volume` except those from
    /// `keep`; returns the peers cut off.
    @discardableResult
    func cut(_ volume: String, except keep: String? = nil) -> [String] {
        let cut = state.withLock { state in
            let tokens = state.active.filter { $0.value.volume == volume && $0.value.peer != keep }.map(\.key)
            return tokens.compactMap { state.active.removeValue(forKey: $0) }
        }
        for entry in cut { entry.close() }
        return cut.map(\.peer)
    }
}
