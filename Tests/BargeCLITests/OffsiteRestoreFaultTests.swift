import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `restore --offsite` on a bare machine under the faults a real one meets: the network to
/// the bucket cut (nft) and the target's file system full (a small tmpfs). Each ends in a
/// clear error in bounded time with no target left, and the next run finishes the job.
@Suite(.serialized) struct OffsiteRestoreFaultTests {
    /// A snapshot of 24 MiB of incompressible files, a key, credentials and an initialized
    /// bucket; the config files for transfers in 1 MiB packs at full speed (`fast.toml`) and at
    /// 6 MB/s, two at a time (`slow.toml`, plus `slowExtra`). Returns the tree and the snapshot id.
    static func prepared(_ workspace: Workspace, _ server: S3TestServer, bucket: String, seed: UInt64,
                         slowExtra: String = "") throws -> (Manifest, String) {
        let source = try workspace.initStore()
        var rng = SplitMix64(seed: seed)
        for index in 0..<12 { try Data(rng.bytes(2 << 20)).write(to: URL(fileURLWithPath: "\(source)/f\(index).bin")) }
        let snapshot = try #require(try workspace.snapshot()["id"] as? String)
        try server.writeCredentials(to: workspace.path("s3.credentials"))
        try workspace.ok("offsite", "keygen", workspace.path("offsite.key"))
        for (file, extra) in [("fast.toml", "pack_size = \"1MiB\""),
                              ("slow.toml", "pack_size = \"1MiB\"\nbandwidth = \"6MB/s\"\nconcurrency = 2\n" + slowExtra)] {
            try OffsiteAgentTests.table(server, bucket: bucket, key: workspace.path("offsite.key"),
                                        credentials: workspace.path("s3.credentials"), extra: extra)
                .write(toFile: workspace.path(file), atomically: true, encoding: .utf8)
        }
        try workspace.ok("offsite", "init", "s3", "--config", workspace.path("fast.toml"))
        return (try Manifest.capture(source), snapshot)
    }

    /// `prepared`, then pushed at full speed.
    static func pushed(_ workspace: Workspace, _ server: S3TestServer, bucket: String, seed: UInt64 = 97,
                       slowExtra: String = "") throws -> Manifest {
        let (tree, _) = try prepared(workspace, server, bucket: bucket, seed: seed, slowExtra: slowExtra)
        try workspace.ok("offsite", "push", "v", "--to", "s3", "--config", workspace.path("fast.toml"))
        return tree
    }

    /// Until more than `bytes` of a restore from the bucket are in its scratch store (a whole
    /// 1 MiB pack at least), so a fault injected then leaves something to resume from; a loaded
    /// machine takes a while to get there.
    static func waitUntilPacksLanded(_ bytes: Int = 1 << 20, in scratch: String, while restore: BargeChild) throws {
        try waitUntil(timeout: 60) {
            let packs = (try? FileManager.default.contentsOfDirectory(atPath: scratch + "/packs")) ?? []
            return !restore.process.isRunning || packs.contains {
                ((try? FileManager.default.attributesOfItem(atPath: scratch + "/packs/" + $0))?[.size] as? Int ?? 0) > bytes
            }
        }
    }

    static func restore(_ workspace: Workspace, config: String, target: String, wrapper: [String] = [], json: Bool = false) throws -> BargeChild {
        try workspace.start(["restore", "v", "--offsite", "s3", "--config", workspace.path(config), "--target", target] + (json ? ["--json"] : []),
                            wrapper: wrapper + ["/usr/bin/env", "-u", "BARGE_STATE_DIR"])
    }

    /// The bucket becomes unreachable mid-restore: every in-flight request times out after
    /// the 1 s idle timeout and is retried; after the last attempt the restore fails saying
    /// so (not after 90 s per attempt, as with a library default), leaving no target and
    /// the scratch store. A second run through a cut that heals within the retries finishes,
    /// fetching only what the first did not.
    @Test(.enabled(if: NetworkCut.isAvailable, "needs root, nft and setpriv"))
    func aCutToTheBucketEndsInAClearErrorAndTheNextRunResumes() throws {
        let server = try S3TestServer()
        let workspace = try Workspace("offsite-restore-cut")
        let expected = try Self.pushed(workspace, server, bucket: "restore-cut", slowExtra: "timeout = \"1s\"")
        let port = try #require(server.endpoint.split(separator: ":").last.flatMap { Int($0) }, "\(server.endpoint)")
        let target = workspace.path("restored"), scratch = target + ".barge-import"
        let cut = NetworkCut(label: "offsiterestore")

        let first = try Self.restore(workspace, config: "slow.toml", target: target, wrapper: cut.wrapper)
        try Self.waitUntilPacksLanded(in: scratch, while: first)
        try #require(first.process.isRunning, "the restore was still fetching when the network was cut")
        try cut.cut(ports: [port])
        let cutAt = Date()
        let failed = first.wait()
        let took = Date().timeIntervalSince(cutAt)
        #expect(failed.status == 1, "\(failed)")
        #expect(took < 60, "the restore gave up within its retries (13 s here), not after a library's minutes: \(took) s")
        #expect(failed.stderr.contains("no answer for 1.0 seconds") || failed.stderr.contains("no connection within 1.0 seconds"), "\(failed)")
        #expect(failed.stderr.contains("(6 attempts)") && failed.stderr.contains("hint: the bucket could not be reached"), "\(failed)")
        #expect(failed.stderr.contains("barge: warning: ") && failed.stderr.contains("; attempt 2 of 6 in 0.2 s\n"), "each retry is told: \(failed)")
        #expect(!workspace.exists(target), "no target after a failed restore")
        #expect(workspace.exists(scratch), "what landed stays for the next run")

        try cut.heal()
        let second = try Self.restore(workspace, config: "slow.toml", target: target, wrapper: cut.wrapper, json: true)
        usleep(500_000)
        try cut.cut(ports: [port])
        usleep(2_000_000)
        try cut.heal()
        let resumed = second.wait()
        try #require(resumed.status == 0, "a cut shorter than the retries is ridden out: \(resumed)")
        let imported = try #require(try resumed.object()["offsite"] as? [String: Any], "\(resumed)")
        let local = try #require(imported["blobs_already_local"] as? Int), downloaded = try #require(imported["bytes_downloaded"] as? Int)
        #expect(local > 0 && downloaded < 24_000_000, "what landed before the cut was not fetched again: \(imported)")
        try expectSameTree(expected, target, "the restore resumed after a cut")
        #expect(!workspace.exists(scratch), "the scratch store is removed after the restore")
    }

    /// The target's file system fills up while the snapshot is fetched and written: a clear
    /// error naming the cause, no target, no staging directory, nothing else left there but
    /// the scratch store; with room, the same command finishes and removes it.
    @Test(.enabled(if: SmallFileSystem.available, "needs root to mount a tmpfs"))
    func aFullTargetFileSystemEndsInAClearErrorAndTheNextRunFinishes() throws {
        let server = try S3TestServer()
        let workspace = try Workspace("offsite-restore-full")
        let expected = try Self.pushed(workspace, server, bucket: "restore-full")
        let disk = workspace.path("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try #require(mount("tmpfs", disk, "tmpfs", 0, "size=20m") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { umount2(disk, Int32(MNT_DETACH)) }
        let target = disk + "/restored", scratch = target + ".barge-import"

        let full = try Self.restore(workspace, config: "fast.toml", target: target).wait()
        #expect(full.status == 1, "\(full)")
        #expect(full.stderr.hasPrefix("barge: error: no room left to restore ") && full.stderr.contains(" into \(target): "), "\(full)")
        // A pack write or the index's commit meets the full disk first, as the sizes fall.
        #expect(full.stderr.contains("No space left on device\n  hint: the restore needs room for the snapshot's 24.0 MiB")
                    || full.stderr.contains("no space left on the disk holding \(scratch)/index.sqlite\n  hint: the restore needs room for the snapshot's 24.0 MiB"),
                "\(full)")
        #expect(full.stderr.contains("then run the same command again: what was fetched stays in \(scratch)"), "\(full)")
        #expect(full.stderr.components(separatedBy: "hint:").count == 2, "one hint, about this restore: \(full)")
        #expect(!workspace.exists(target), "no target after a failed restore")
        let left = try FileManager.default.contentsOfDirectory(atPath: disk).filter { $0 != "restored.barge-import" }
        #expect(left.isEmpty, "no staging directory or partial file left: \(left)")

        try runTool(["/usr/bin/mount", "-o", "remount,size=128m", disk])
        let again = try Self.restore(workspace, config: "fast.toml", target: target, json: true).wait()
        try #require(again.status == 0, "\(again)")
        try expectSameTree(expected, target, "the restore once there was room")
        #expect(!workspace.exists(scratch), "the scratch store is removed after the restore")
    }

    /// `restore --offsite` killed with SIGKILL mid-import: no target appears, the unsynced scratch
    /// store stays, and the next run in the same boot fetches only what it lacks and removes it.
    @Test func aKilledRestoreFromTheBucketResumesWithoutFetchingAgainWhatLanded() throws {
        let server = try S3TestServer()
        let workspace = try Workspace("offsite-restore-kill")
        let expected = try Self.pushed(workspace, server, bucket: "restore-kill", seed: 93)
        let target = workspace.path("restored"), scratch = target + ".barge-import"
        let restore = try Self.restore(workspace, config: "slow.toml", target: target)
        try Self.waitUntilPacksLanded(6 << 20, in: scratch, while: restore)
        restore.kill()
        #expect(restore.wait().signal == SIGKILL, "the restore was still running when killed")
        #expect(!workspace.exists(target), "no target after a kill")
        #expect(workspace.exists(scratch), "the scratch store stays for the next run in this boot")

        let again = try Self.restore(workspace, config: "fast.toml", target: target, json: true).wait()
        try #require(again.status == 0, "\(again)")
        let imported = try #require(try again.object()["offsite"] as? [String: Any])
        let local = try #require(imported["blobs_already_local"] as? Int), downloaded = try #require(imported["bytes_downloaded"] as? Int)
        #expect(local > 0 && downloaded < 20_000_000, "what landed before the kill was not fetched again: \(imported)")
        try expectSameTree(expected, target, "the resumed restore")
        #expect(!workspace.exists(scratch), "the scratch store is removed after the restore")
    }
}
