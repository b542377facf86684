import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs as the state directory, so the store really runs out of space.
enum SmallFileSystem {
    /// Mounting needs root (CAP_SYS_ADMIN); the test machines have it.
    static let available: Bool = {
        guard geteuid() == 0 else { return false }
        let probe = "/tmp/barge-tmpfs-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mount("tmpfs", probe, "tmpfs", 0, "size=1m") == 0 else { return false }
        umount(probe)
        return true
    }()
}

@Suite(.serialized) struct FullDiskTests {
    /// ENOSPC in the middle of a snapshot: a clear error, exit 1; the earlier
    /// snapshot still verifies and restores exactly; once space is back, the
    /// store takes new snapshots and gc reclaims the interrupted write.
    @Test(.enabled(if: SmallFileSystem.available, "needs root to mount a tmpfs"))
    func fullDiskLeavesCommittedSnapshotsIntact() throws {
        let ws = try Workspace("fulldisk")
        try FileManager.default.createDirectory(atPath: ws.state, withIntermediateDirectories: true)
        try #require(mount("tmpfs", ws.state, "tmpfs", 0, "size=6m") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { umount2(ws.state, Int32(MNT_DETACH)) }

        let volume = try ws.initStore()
        let small = randomBytes(200_000, seed: 1)
        try Data(small).write(to: URL(fileURLWithPath: volume + "/small.bin"))
        let first = try ws.snapshot()
        let firstID = try #require(first["id"] as? String)

        try Data(randomBytes(24 << 20, seed: 2)).write(to: URL(fileURLWithPath: volume + "/big.bin"))
        let full = try ws.barge("snapshot", "v")
        #expect(full.status == 1, "\(full)")
        #expect(full.stderr.contains("No space left") || full.stderr.contains("full"), "\(full)")

        let verify = try ws.barge("verify", "--read-data")
        #expect(verify.status == 0, "\(verify)")
        let list = try ws.ok("snapshots", "v", "--json").array()
        #expect(list.map { $0["id"] as? String } == [firstID], "the failed snapshot left no row")
        try ws.ok("restore", "v", "--snapshot", firstID, "--target", ws.path("restored"))
        #expect(FileManager.default.contents(atPath: ws.path("restored/small.bin")) == Data(small))

        try FileManager.default.removeItem(atPath: volume + "/big.bin")
        try ws.ok("gc")
        try Data(randomBytes(300_000, seed: 3)).write(to: URL(fileURLWithPath: volume + "/more.bin"))
        _ = try ws.snapshot()
        #expect(try ws.barge("verify", "--read-data").status == 0)
    }

    /// ENOSPC while gc copies the live half of a pack: a clear error, exit 1,
    /// nothing changed (its partial copy is taken back), every snapshot still
    /// restores; with space back the same gc reclaims the pack.
    @Test(.enabled(if: SmallFileSystem.available, "needs root to mount a tmpfs"))
    func fullDiskDuringGCChangesNothing() throws {
        let ws = try Workspace("fulldisk-gc")
        try FileManager.default.createDirectory(atPath: ws.state, withIntermediateDirectories: true)
        try #require(mount("tmpfs", ws.state, "tmpfs", 0, "size=40m") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { umount2(ws.state, Int32(MNT_DETACH)) }

        let volume = try ws.initStore()
        try Data(randomBytes(15 << 20, seed: 21)).write(to: URL(fileURLWithPath: volume + "/a.bin"))
        let first = try #require(try ws.snapshot()["id"] as? String)
        let kept = randomBytes(15 << 20, seed: 22)
        try Data(kept).write(to: URL(fileURLWithPath: volume + "/b.bin"))
        let second = try #require(try ws.snapshot()["id"] as? String)
        try FileManager.default.removeItem(atPath: volume + "/a.bin")
        let third = try #require(try ws.snapshot()["id"] as? String)
        try ws.ok("forget", "v", "--snapshot", first, "--snapshot", second)
        let packsBefore = try FileManager.default.contentsOfDirectory(atPath: ws.state + "/packs").sorted()

        let full = try ws.barge("gc")
        #expect(full.status == 1, "\(full)")
        #expect(full.stderr.contains("No space left") && full.stderr.contains("full"), "\(full)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.state + "/packs").sorted() == packsBefore,
                "the partial copy was taken back")
        #expect(try ws.barge("verify", "--read-data").status == 0)
        try ws.ok("restore", "v", "--snapshot", third, "--target", ws.path("restored"))
        #expect(FileManager.default.contents(atPath: ws.path("restored/b.bin")) == Data(kept))

        try #require(mount("tmpfs", ws.state, "tmpfs", UInt(MS_REMOUNT), "size=80m") == 0, "remount: \(String(cString: strerror(errno)))")
        let report = try ws.ok("gc", "--json").object()
        #expect((report["bytes_reclaimed"] as? Int ?? 0) >= 14 << 20, "\(report)")
        #expect(try ws.barge("verify", "--read-data").status == 0)
        try ws.ok("restore", "v", "--snapshot", third, "--target", ws.path("restored-after"))
        #expect(FileManager.default.contents(atPath: ws.path("restored-after/b.bin")) == Data(kept))
    }

    /// A replica whose state directory fills up says why, in an error frame,
    /// before it closes: the owner's `replicate` (text and --json) and its
    /// `status` name the cause with a hint, instead of `I/O on closed channel`
    /// (issue 11, finding 4). Once there is room, the next replication succeeds.
    @Test(.enabled(if: SmallFileSystem.available, "needs root to mount a tmpfs"))
    func aFullReplicaSaysWhy() throws {
        let cluster = try AgentCluster("replica-full")
        let replicaState = cluster.stateDirectory("d1")
        try FileManager.default.createDirectory(atPath: replicaState, withIntermediateDirectories: true)
        try #require(mount("tmpfs", replicaState, "tmpfs", 0, "size=8m") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { umount2(replicaState, Int32(MNT_DETACH)) }
        try Data(randomBytes(24 << 20, seed: 4)).write(to: URL(fileURLWithPath: cluster.volumePath("v", on: "d0") + "/big.bin"))
        try cluster.start("d0")
        try cluster.start("d1")
        let id = try cluster.snapshot()

        let hint = "free space in d1's state directory, then run `barge replicate v --to d1`"
        let json = try cluster.run("d0", "replicate", "v", "--json")
        #expect(json.status == 1, "\(json)")
        let peer = try #require((try json.object()["peers"] as? [[String: Any]])?.first, "\(json)")
        let error = try #require(peer["error"] as? String, "\(json)")
        #expect(error.hasPrefix("d1 cannot store snapshot \(id.prefix(12)) of v in its state directory \(replicaState): "), "\(error)")
        #expect(error.hasSuffix(": No space left on device [storage]"), "\(error)")
        #expect(peer["ok"] as? Bool == false && peer["hint"] as? String == hint, "\(peer)")
        #expect(json.stderr == "barge: error: v → d1: \(error)\n  hint: \(hint)\n", "\(json)")

        // Again, in text: what the first attempt stored is kept, so this one fails writing a later pack.
        let text = try cluster.run("d0", "replicate", "v")
        let prefix = "barge: error: v → d1: "
        let again = String(try #require(text.stderr.split(separator: "\n").first { $0.hasPrefix(prefix) }, "\(text)").dropFirst(prefix.count))
        #expect(again.hasPrefix("d1 cannot store snapshot \(id.prefix(12)) of v in its state directory \(replicaState): "), "\(again)")
        #expect(again.hasSuffix(": No space left on device [storage]"), "\(again)")
        #expect(text.status == 1 && text.stderr == "\(prefix)\(again)\n  hint: \(hint)\n", "\(text)")

        // The owner's status shows it as the replica's last error; the replica's as its own.
        let replica = try #require((try cluster.volumeStatus("d0")["replicas"] as? [[String: Any]])?.first)
        #expect(replica["last_error"] as? String == again && replica["last_error_hint"] as? String == hint, "\(replica)")
        let status = try cluster.ok("d0", "status")
        #expect(status.stderr == "barge: warning: v → d1: \(again)\n  hint: \(hint)\n", "\(status)")
        #expect(try cluster.volumeStatus("d1")["last_error"] as? String == "receiving from d0 failed: \(again)")
        #expect(cluster.agents["d1"]?.process.isRunning == true)

        // Room again: the next replication goes through and clears the error.
        try runTool(["/usr/bin/mount", "-o", "remount,size=64m", replicaState])
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: id)
        #expect((try cluster.volumeStatus("d0")["replicas"] as? [[String: Any]])?.first?["last_error"] == nil)
        #expect(try cluster.ok("d0", "status").stderr.isEmpty)
    }

    /// The file system of the replica's standby copy fills up while the copy
    /// is written during the transfer: the snapshot is still committed (the
    /// store has room), no partial copy is left, status says why; once there
    /// is room, the agent builds the copy by itself, with no command.
    @Test(.enabled(if: SmallFileSystem.available, "needs root to mount a tmpfs"))
    func aFullStandbyFileSystemLeavesNoPartialCopyAndIsRetried() throws {
        let cluster = try AgentCluster("standby-full")
        let volumes = cluster.workspace.path("d1/vols")
        try #require(mount("tmpfs", volumes, "tmpfs", 0, "size=8m") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { umount2(volumes, Int32(MNT_DETACH)) }
        try FileManager.default.createDirectory(atPath: cluster.volumePath("v", on: "d1"), withIntermediateDirectories: true)
        let source = cluster.volumePath("v", on: "d0")
        for index in 0..<6 {
            try FileManager.default.createDirectory(atPath: source + "/d\(index)", withIntermediateDirectories: true)
            try Data(randomBytes(4 << 20, seed: UInt64(40 + index))).write(to: URL(fileURLWithPath: source + "/d\(index)/f.bin"))
        }
        let expected = try Manifest.capture(source)
        try cluster.start("d0")
        try cluster.start("d1")
        let id = try cluster.snapshot()
        _ = try cluster.replicate()
        #expect(try cluster.volumeStatus("d1")["latest_snapshot"] as? String == id, "the snapshot was committed on d1")

        var error = ""
        try waitUntil(timeout: 30) {
            error = try cluster.volumeStatus("d1")["last_error"] as? String ?? ""
            return error.contains("No space left")
        }
        #expect(error.hasPrefix("standby update failed: ") && error.contains("trying again in 5"), "\(error)")
        #expect(try cluster.volumeStatus("d1")["standby_updating"] as? Bool == true)
        #expect(cluster.log("d1").contains("the standby copy built during the transfer was not finished"), "the copy was begun during the transfer")
        let left = try FileManager.default.contentsOfDirectory(atPath: volumes + "/.barge-standby")
        #expect(left.isEmpty, "no partial copy left: \(left)")
        var space = statvfs()
        try #require(statvfs(volumes, &space) == 0)
        #expect(Int(space.f_blocks - space.f_bfree) * Int(space.f_frsize) < 1 << 20, "the small file system was emptied again")

        try runTool(["/usr/bin/mount", "-o", "remount,size=64m", volumes])
        try cluster.waitForStandby("d1", snapshot: id, timeout: 60)
        try expectSameTree(expected, cluster.standbyPath("v", on: "d1"), "standby built by a retry once there was room")
        #expect(try cluster.volumeStatus("d1")["last_error"] == nil)
    }
}
