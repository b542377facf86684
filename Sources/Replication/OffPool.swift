import Dispatch

/// Runs a transfer's disk and CPU work (the sender's pack reads, decompression
/// and librsync deltas, the receiver's commit) on a dispatch thread instead of
/// Swift's cooperative pool, which has one thread per core and must stay free
/// for the network, the control socket and the etcd lease. The caller awaits
/// the result, so the non-Sendable state `body` touches is used by one thread
/// at a time, never shared; hence the unchecked boxes.
enum OffPool {
    static func run<T>(_ body: @escaping () throws -> T) async throws -> T {
        let work = UncheckedBox(body)
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UncheckedBox<T>, Error>) in
            DispatchQueue.global().async { continuation.resume(with: Result { UncheckedBox(try work.value()) }) }
        }
        return result.value
    }
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
