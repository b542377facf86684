import Dispatch
import Repository

/// A serial queue for an uploader's or importer's local-store work (reads, checks, appends),
/// off Swift's cooperative pool; one at a time, so the store's writer is never shared.
struct DiskQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(OffsiteError) -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { try body() }) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error as OffsiteError): throw error
        case .failure(let error as RepositoryError):
            throw OffsiteError(.local, "the local store failed: \(error.message)",
                               hint: error.hint ?? "run `barge verify --read-data` on this node", underlying: error)
        case .failure(let error):
            throw OffsiteError(.local, "the local store failed: \(error)",
                               hint: "run `barge verify --read-data` on this node", underlying: error)
        }
    }
}

/// Compressing and sealing packs, off the cooperative pool and one pack at a time: each
/// needs its plaintext, zstd's output and the sealed copy at once (about three pack sizes),
/// and the uploads in flight then hold only sealed packs.
enum CPUWork {
    private static let sealer = DispatchQueue(label: "barge.offsite.sealer")

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws(OffsiteError) -> T) async throws(OffsiteError) -> T {
        let result: Result<T, OffsiteError> = await withCheckedContinuation { continuation in
            sealer.async {
                do throws(OffsiteError) { continuation.resume(returning: .success(try body())) } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
