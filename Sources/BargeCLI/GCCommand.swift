import ArgumentParser
import Snapshots

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Reclaim space held by blobs no snapshot references.",
        discussion: "Deletes packs with no live blob and rewrites packs that are a quarter or more dead. Needs the store to itself: readers are refused while it runs.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let report = try SnapshotEngine(stateDirectory: global.resolvedStateDirectory).collectGarbage()
        if global.json {
            Terminal.json(["live_blobs": report.liveBlobs, "dead_blobs": report.deadBlobs, "packs_deleted": report.packsDeleted,
                           "packs_rewritten": report.packsRewritten, "bytes_reclaimed": report.bytesReclaimed,
                           "bytes_copied": report.bytesCopied])
        } else {
            print("gc: \(report.deadBlobs) unreferenced blobs; \(report.packsDeleted) packs deleted, \(report.packsRewritten) rewritten; "
                  + "\(Terminal.bytes(report.bytesReclaimed)) reclaimed, \(Terminal.bytes(report.bytesCopied)) copied")
        }
    }
}
