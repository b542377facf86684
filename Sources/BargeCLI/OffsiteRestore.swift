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
        let outcome = try StreamingRestore.run(snapshot, subpath: subpath, target: target, storeDirectory: storeDirectory, makeImporter: {
            let store = scratch ? try ScratchStore.open(at: storeDirectory)
                : FileManager.default.fileExists(atPath: Store.indexPath(in: storeDirectory))
                ? try Store(at: storeDirectory, access: .write) : try Store.initialize(at: storeDirectory)
            return OffsiteImporter(store: store, repository: repository, cache: cache) { progress.fetched($0) }
        }, options: options) { stats, path in progress.restored(stats, path) }
        progress.finish()
        let report = outcome.imported
        if !json {
            print("fetched snapshot \(snapshot.id.short) of \(volume) from \(name): \(report.packsFetched) packs, "
                  + "\(Terminal.bytes(report.bytesDownloaded)) in \(String(format: "%.2f", report.seconds)) s (restored meanwhile)")
        }
        return (RestoreOutcome(snapshot: snapshot, target: Paths.absolute(target), result: outcome.result, safetySnapshot: nil,
                               seconds: Date().timeIntervalSince(started)), report)
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
