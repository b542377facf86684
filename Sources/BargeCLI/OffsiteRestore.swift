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

    /// Imports the chosen snapshot into `storeDirectory` (created if needed; only what it
    /// lacks is fetched) and returns it with the import's report. `scratch`: the store is a
    /// `ScratchStore`, never synced, removed by the caller after the restore.
    func fetch(_ volume: String, _ selector: SnapshotSelector, into storeDirectory: String, scratch: Bool,
               json: Bool) throws -> (StoredSnapshot, ImportReport) {
        let repository = try source.open(name)
        let listed = try AsyncBridge.wait { () async throws(OffsiteError) in try await repository.snapshots(volume: volume) }
        guard !listed.isEmpty else {
            throw OffsiteError(.noSuchSnapshot, "\(repository.target.describe) lists no snapshot of \(volume)",
                               hint: "see `barge snapshots \(volume) --offsite \(name)`; check the volume name and the target")
        }
        let snapshot = try SnapshotEngine.choose(selector, among: listed, volume: volume)
        let store = scratch ? try ScratchStore.open(at: storeDirectory)
            : FileManager.default.fileExists(atPath: Store.indexPath(in: storeDirectory))
            ? try Store(at: storeDirectory, access: .write) : try Store.initialize(at: storeDirectory)
        let progress = SharedProgress()
        let importer = OffsiteImporter(store: store, repository: repository, cache: storeDirectory + "/offsite-cache/" + name) {
            progress.update("fetching \(volume) from \(name): \($0.packsDone)/\($0.packsTotal) packs, \(Terminal.bytes($0.bytesDownloaded))")
        }
        let report = try AsyncBridge.wait { () async throws(OffsiteError) in try await importer.importSnapshot(snapshot) }
        progress.finish()
        if !json {
            print("fetched snapshot \(snapshot.id.short) of \(volume) from \(name): \(report.packsFetched) packs, "
                  + "\(Terminal.bytes(report.bytesDownloaded)) in \(String(format: "%.2f", report.seconds)) s")
        }
        return (snapshot, report)
    }

    static func json(_ report: ImportReport) -> [String: Any] {
        ["packs_fetched": report.packsFetched, "blobs_fetched": report.blobsFetched, "blobs_already_local": report.blobsAlreadyLocal,
         "bytes_downloaded": report.bytesDownloaded, "seconds": report.seconds]
    }
}
