import Dispatch

/// Runs disk-bound work (snapshots, standby updates) off the cooperative pool,
/// which has one thread per core and must stay free for network and control.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}
