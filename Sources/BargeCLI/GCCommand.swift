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

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Remove snapshots from the history (run gc to reclaim their space).",
        discussion: "--keep-last N keeps the newest N complete snapshots; pre-restore and diverged snapshots go only when named with --snapshot.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The volume.") var name: String
    @Option(name: .customLong("snapshot"), help: "A snapshot id or unique prefix; repeatable.") var snapshots: [String] = []
    @Option(name: .customLong("keep-last"), help: "Keep only the newest N complete snapshots.") var keepLast: Int?

    func validate() throws {
        if snapshots.isEmpty && keepLast == nil { throw ValidationError("name snapshots with --snapshot, or give --keep-last N") }
        if let keepLast, keepLast < 1 { throw ValidationError("--keep-last must be at least 1") }
    }

    func run() throws {
        let engine = SnapshotEngine(stateDirectory: global.resolvedStateDirectory)
        let removed = try engine.forget(volume: name, ids: snapshots.map { .id($0) }, keepLast: keepLast)
        if global.json {
            Terminal.json(["forgotten": removed.map(\.id.hex)])
        } else {
            for snapshot in removed { print("forgot \(snapshot.id.short) (\(Terminal.time(snapshot.record.timeNanoseconds)))") }
            print(removed.isEmpty ? "nothing to forget" : "run `barge gc` to reclaim the space")
        }
    }
}
