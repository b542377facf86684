import Foundation
import Offsite
import Repository
import Snapshots

/// `barge snapshots/restore VOLUME --offsite NAME`: the bucket alone, no peers.
struct OffsiteRestore {
    let source: OffsiteSource
    let name: String

    func snapshots(of volume: String) throws -> [StoredSnapshot] {
        let repository = try source.open(name)
        return try AsyncBridge.wait { () async throws(OffsiteError) in try await repository.snapshots(volume: volume) }
    }

    /// Restores the chosen snapshot to `target` while it is imported into `storeDirectory`
    /// (created if needed; only what it lacks is fetched). `scratch`: the store is a
    /// `ScratchStore`, never synced, removed before the restore's final sync.
    func restore(_ volume: String, _ selector: SnapshotSelector, subpath: String?, target: String,
                 into storeDirectory: String, scratch: Bool, json: Bool) throws -> (RestoreOutcome, ImportReport) {
        let started = Date()
        let repository = try source.open(name)
        let listed = try AsyncBridge.wait { () async throws(OffsiteError) in try await repository.snapshots(volume: volume) }
        guard !listed.isEmpty else {
            throw OffsiteError(.noSuchSnapshot, "\(repository.target.describe) lists no snapshot of \(volume)",
                               hint: "see `barge snapshots \(volume) --offsite \(name)`; check the volume name and the target")
        }
        let snapshot = try SnapshotEngine.choose(selector, among: listed, volume: volume)
        let progress = RestoreProgress()
        var options = RestoreOptions()
        if scratch {
            let removeScratch: @Sendable () throws -> Void = { try ScratchStore.remove(storeDirectory) }
            options.afterReading = removeScratch
        }
        let cache = storeDirectory + "/offsite-cache/" + name
        let outcome: StreamingRestore.Outcome
        do {
            outcome = try StreamingRestore.run(snapshot, subpath: subpath, target: target, storeDirectory: storeDirectory, makeImporter: {
                let store = scratch ? try ScratchStore.open(at: storeDirectory)
                    : FileManager.default.fileExists(atPath: Store.indexPath(in: storeDirectory))
                    ? try Store(at: storeDirectory, access: .write) : try Store.initialize(at: storeDirectory)
                return OffsiteImporter(store: store, repository: repository, cache: cache) { progress.fetched($0) }
            }, options: options) { stats, path in progress.restored(stats, path) }
        } catch {
            progress.finish()
            guard let full = Self.diskFull(error) else { throw error }
            throw Self.noRoom(full, snapshot: snapshot, target: target, storeDirectory: storeDirectory, scratch: scratch)
        }
        progress.finish()
        let report = outcome.imported
        if !json {
            print("fetched snapshot \(snapshot.id.short) of \(volume) from \(name): \(report.packsFetched) packs, "
                  + "\(Terminal.bytes(report.bytesDownloaded)) in \(String(format: "%.2f", report.seconds)) s (restored meanwhile)")
        }
        return (RestoreOutcome(snapshot: snapshot, target: Paths.absolute(target), result: outcome.result, safetySnapshot: nil,
                               seconds: Date().timeIntervalSince(started)), report)
    }

    /// The disk-full failure behind an error, if that is what it was (the import wraps the store's errors).
    static func diskFull(_ error: any Error) -> RepositoryError? {
        switch error {
        case let error as RepositoryError: error.isDiskFull ? error : nil
        case let error as OffsiteError: error.underlying.flatMap { diskFull($0) }
        default: nil
        }
    }

    /// Where the room ran out and what the restore needs, instead of the store's own advice
    /// (which speaks of a state directory a bare machine does not have).
    static func noRoom(_ cause: RepositoryError, snapshot: StoredSnapshot, target: String, storeDirectory: String,
                       scratch: Bool) -> OffsiteError {
        let size = Terminal.bytes(Int(clamping: snapshot.record.bytesTotal))
        let kept = scratch ? "what was fetched stays in \(storeDirectory) and is not fetched again (remove it to give its space back now)"
                           : "what was fetched stays in the store \(storeDirectory) and is not fetched again"
        return OffsiteError(.local, "no room left to restore \(snapshot.id.short) into \(target): \(cause.message)",
                            hint: "the restore needs room for the snapshot's \(size) of files and, while it runs, for the packs it fetches "
                                + "into \(storeDirectory); free space there or choose a target on a larger file system, then run the same "
                                + "command again: \(kept)",
                            underlying: cause)
    }

    static func json(_ report: ImportReport) -> [String: Any] {
        ["packs_fetched": report.packsFetched, "blobs_fetched": report.blobsFetched, "blobs_already_local": report.blobsAlreadyLocal,
         "bytes_downloaded": report.bytesDownloaded, "seconds": report.seconds]
    }
}

/// One progress line for a restore from the bucket: packs fetched and files written, from two threads.
private final class RestoreProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let line = ProgressLine()
    private var packs = "", files = ""

    func fetched(_ progress: ImportProgress) {
        lock.withLock {
            packs = "\(progress.packsDone)/\(progress.packsTotal) packs (\(Terminal.bytes(progress.bytesDownloaded))) fetched"
            line.update("\(packs); \(files)")
        }
    }

    func restored(_ stats: RestoreStatistics, _ path: String) {
        lock.withLock {
            files = "\(stats.files) files written  \(path)"
            line.update("\(packs); \(files)")
        }
    }

    func finish() { lock.withLock { line.finish() } }
}
