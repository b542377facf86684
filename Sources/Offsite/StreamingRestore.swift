import Foundation
import Repository
import Snapshots
import Synchronization

/// A restore from the bucket that writes files while the snapshot is being imported
/// (`restore --offsite`): the import runs as a task and commits each pack as it lands, in the
/// order the restore needs them; the restore runs on the calling thread and waits, through
/// `BlobArrivals`, only for chunks not yet committed. Downloading and writing overlap instead
/// of following each other.
public enum StreamingRestore {
    public struct Outcome: Sendable {
        public let imported: ImportReport
        public let result: RestoreResult
    }

    /// Restores `snapshot` (or `subpath` of it) to `target` while `makeImporter`'s importer
    /// brings it into the store at `storeDirectory`. The importer, and the store it writes,
    /// are let go before `options.afterReading` runs (the scratch store is removed there).
    /// When the import fails, its error is thrown (the restore stopped because of it); when the
    /// restore fails, the import is cancelled and the restore's error thrown. Nothing is left at `target`.
    public static func run(_ snapshot: StoredSnapshot, subpath: String?, target: String, storeDirectory: String,
                           makeImporter: () throws -> OffsiteImporter, options: RestoreOptions = RestoreOptions(),
                           progress: ((RestoreStatistics, String) -> Void)? = nil) throws -> Outcome {
        try Paths.checkEmptyOrMissing(target)
        let importing = ImportTask(try makeImporter())
        let reader = try Store(at: storeDirectory, access: .read)
        let arrivals = BlobArrivals()
        importing.start(snapshot, arrivals: arrivals)

        var streaming = options
        streaming.afterReading = {
            // Every chunk is committed, but the import may still be storing trees and the snapshot record.
            if case .failure(let error) = importing.wait() { throw error }
            try options.afterReading?()
        }
        let restorer = Restorer(store: reader, options: streaming, arrivals: arrivals, progress: progress)
        let result: RestoreResult
        do {
            result = try restorer.restore(snapshot, subpath: subpath, to: target)
        } catch {
            importing.cancel()
            // An import that failed on its own stopped the restore: its error says why.
            if case .failure(let cause) = importing.wait(), cause.code != .cancelled { throw cause }
            throw error
        }
        switch importing.wait() {
        case .success(let report): return Outcome(imported: report, result: result)
        case .failure(let error): throw error
        }
    }
}

/// The import, run as a task the restore can wait for and cancel. It holds the only reference
/// to the importer, which it drops (closing the store it writes) before it reports.
private final class ImportTask: Sendable {
    private let importer: Mutex<OffsiteImporter?>
    private let outcome = Mutex<Result<ImportReport, OffsiteError>?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(_ importer: OffsiteImporter) { self.importer = Mutex(importer) }

    func start(_ snapshot: StoredSnapshot, arrivals: BlobArrivals) {
        let started = Task {
            let result = await self.run(snapshot, arrivals: arrivals)
            self.outcome.withLock { $0 = result }
            self.done.signal()
        }
        task.withLock { $0 = started }
    }

    /// The importer is a local here: it is released when this returns, before `done` is signalled.
    private func run(_ snapshot: StoredSnapshot, arrivals: BlobArrivals) async -> Result<ImportReport, OffsiteError> {
        guard let importer = importer.withLock({ $0.take() }) else {
            return .failure(OffsiteError(.local, "the import was started twice"))
        }
        do { return .success(try await importer.importSnapshot(snapshot, arrivals: arrivals)) } catch { return .failure(error) }
    }

    func cancel() { task.withLock { $0?.cancel() } }

    /// Blocks until the import ended (a thread outside the cooperative pool: the CLI's).
    func wait() -> Result<ImportReport, OffsiteError> {
        if let known = outcome.withLock({ $0 }) { return known }
        done.wait()   // signalled once, after `outcome` is set: later calls return above
        return outcome.withLock { $0 }!
    }
}
