import Foundation
import Repository
import Testing
import TestSupport

/// Rolling a live volume back through its owner's agent: the container is
/// stopped and started around it, the old state is kept as `pre-restore`, the
/// replicas' standby copies follow, and the roll-back can itself be undone.
@Suite struct AgentRollbackTests {
    @Test func rollBackALiveVolumeAndUndoIt() throws {
        let cluster = try AgentCluster("agent-rollback")
        let hookLog = cluster.workspace.path("hooks.log")
        cluster.volumeExtras["v"] = """
            [volume.hooks]
            start = "echo start >> \(hookLog)"
            stop = "echo stop >> \(hookLog)"
            """
        let source = cluster.volumePath("v", on: "d0")
        try TreeGenerator(seed: 51).build(at: source)
        try Self.write(["app/db.bin": 1, "app/config": 2, "keep.txt": 3], into: source)
        try cluster.start("d0")
        try cluster.start("d1")
        try waitUntil(timeout: 30) { try cluster.volumeStatus("d0")["container"] as? String == "up" }
        let yesterday = try cluster.snapshot()
        _ = try cluster.replicate()
        let before = try Manifest.capture(source)

        try Self.write(["app/db.bin": 4, "app/config": 5, "app/new.log": 6], into: source)
        _ = try cluster.snapshot()
        _ = try cluster.replicate()
        let today = try Manifest.capture(source)
        let hooksBefore = Self.lines(hookLog)

        // On the replica: refused, with the owner named.
        let refused = try cluster.run("d1", "restore", "v", "--snapshot", yesterday, "--in-place")
        #expect(refused.status != 0 && refused.stderr.contains("d0"), "\(refused)")

        let report = try cluster.ok("d0", "restore", "v", "--snapshot", yesterday, "--in-place", "--json").object()
        try expectSameTree(before, source, "the live volume is yesterday's again")
        // Only what differs was written: two changed files and one removed, not the whole tree.
        #expect(report["entries_removed"] as? Int == 1 && (report["bytes_written"] as? Int ?? .max) < 1_000_000, "\(report)")
        #expect(report["container_stopped"] as? Bool == true && report["downtime_seconds"] is Double, "\(report)")
        #expect(Array(Self.lines(hookLog).dropFirst(hooksBefore.count)) == ["stop", "start"], "stop hook, then start hook")
        let preRestore = try #require(report["pre_restore_snapshot"] as? String)
        let result = try #require(report["result_snapshot"] as? String)
        let listed = try cluster.workspace.barge("snapshots", "v", "--json", "--state-dir", cluster.stateDirectory("d0")).array()
        #expect(listed.first { $0["id"] as? String == preRestore }?["state"] as? String == "pre-restore")
        // The replica's standby copy follows the rolled-back state.
        try cluster.waitForStandby("d1", snapshot: result)
        try expectSameTree(before, cluster.standbyPath("v", on: "d1"), "the replica's standby copy")

        // Undo: the pre-restore snapshot, the same way.
        let undo = try cluster.ok("d0", "restore", "v", "--snapshot", preRestore, "--in-place").out
        #expect(undo.contains("undo with"), "\(undo)")
        try expectSameTree(today, source, "the roll-back undone")

        // One file only.
        _ = try cluster.ok("d0", "restore", "v", "--snapshot", yesterday, "--in-place", "--path", "app/config")
        #expect(FileManager.default.contents(atPath: source + "/app/config") == Data(Self.bytes(2)))
        #expect(FileManager.default.contents(atPath: source + "/app/db.bin") == Data(Self.bytes(4)), "the rest stays")
        #expect(try cluster.workspace.barge("verify", "--read-data", "--state-dir", cluster.stateDirectory("d0")).status == 0)
        #expect(try cluster.volumeStatus("d0")["container"] as? String == "up")

        // A roll-back cut short (its mark left in the index): the container is not started on the
        // half-changed volume, status says what to do, and running the roll-back again ends it.
        _ = cluster.stop("d0")
        try {
            let store = try Store(at: cluster.stateDirectory("d0"), access: .write)
            try store.index.setRollbackMark(RollbackMark(volume: "v", target: try #require(BlobID(hex: yesterday)),
                                                         preRestore: try #require(BlobID(hex: preRestore)), startedNanoseconds: 1))
        }()
        let startsBefore = Self.lines(hookLog).filter { $0 == "start" }.count
        try cluster.start("d0")
        try waitUntil(timeout: 30) { (try cluster.volumeStatus("d0")["last_error"] as? String)?.contains("did not finish") == true }
        #expect(Self.lines(hookLog).filter { $0 == "start" }.count == startsBefore, "no start on a half rolled-back volume")
        #expect(try cluster.volumeStatus("d0")["container"] as? String != "up")
        _ = try cluster.ok("d0", "restore", "v", "--snapshot", yesterday, "--in-place")
        try expectSameTree(before, source, "the roll-back run again")
        #expect((try cluster.volumeStatus("d0")["last_error"] as? String)?.contains("did not finish") != true)
        #expect(try cluster.volumeStatus("d0")["container"] as? String == "up", "finishing the roll-back starts the container")
    }

    static func bytes(_ seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed + 900)
        return rng.bytes(200_000 + Int(seed) * 1000)
    }

    static func write(_ files: [String: UInt64], into root: String) throws {
        for (name, seed) in files {
            let url = URL(fileURLWithPath: root + "/" + name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes(seed)).write(to: url)
        }
    }

    static func lines(_ path: String) -> [String] {
        (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }
}
