import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Off-site copies end to end: a live agent uploads by itself; a machine with nothing but
/// the [[offsite]] table, the key and the credentials restores byte-exact; an upload killed
/// with SIGKILL resumes without sending again what landed.
@Suite(.serialized) struct OffsiteAgentTests {
    static func table(_ server: S3TestServer, bucket: String, key: String, credentials: String, extra: String = "") -> String {
        """

        [[offsite]]
        name = "s3"
        endpoint = "\(server.endpoint)"
        bucket = "\(bucket)"
        prefix = "cluster-a/"
        credentials_file = "\(credentials)"
        key_file = "\(key)"
        \(extra)

        """
    }

    /// Runs barge as on a machine with no state directory.
    static func bare(_ workspace: Workspace, _ arguments: [String]) throws -> BargeRun {
        try workspace.start(arguments, wrapper: ["/usr/bin/env", "-u", "BARGE_STATE_DIR"]).wait()
    }

    @Test func aLiveAgentUploadsAndABareMachineRestoresARealAndAHostileTree() throws {
        let server = try S3TestServer()
        let cluster = try AgentCluster("offsite-agent", nodes: ["d0"], volumes: [.init(name: "v", owner: "d0", replicas: [])])
        let workspace = cluster.workspace
        let source = cluster.volumePath("v", on: "d0")
        try TreeGenerator(seed: 71).build(at: source)
        // And real files nobody here wrote: the time zone database and the kernel's headers.
        for real in ["/usr/share/zoneinfo", "/usr/include/linux"] where FileManager.default.fileExists(atPath: real) {
            let copy = Process()
            copy.executableURL = URL(fileURLWithPath: "/bin/cp")
            copy.arguments = ["-a", real, source + "/real-" + (real as NSString).lastPathComponent]
            try copy.run()
            copy.waitUntilExit()
            try #require(copy.terminationStatus == 0, "cp -a \(real)")
        }
        try server.writeCredentials(to: workspace.path("s3.credentials"))
        try workspace.ok("offsite", "keygen", workspace.path("offsite.key"))
        let table = Self.table(server, bucket: "agent-copy", key: workspace.path("offsite.key"), credentials: workspace.path("s3.credentials"),
                               extra: "volumes = [\"v\"]\ninterval = \"0s\"\n[offsite.retention]\nkeep_last = 2")
        try (table).write(toFile: workspace.path("bare.toml"), atomically: true, encoding: .utf8)
        try workspace.ok("offsite", "init", "s3", "--config", workspace.path("bare.toml"))
        try cluster.start("d0", config: cluster.config(for: "d0") + table)

        let expected = try Manifest.capture(source)
        let first = try cluster.snapshot()
        try Self.waitForUpload(cluster, first)
        try Data(repeating: 7, count: 300_000).write(to: URL(fileURLWithPath: source + "/later.bin"))
        let second = try cluster.snapshot()
        try Self.waitForUpload(cluster, second)

        // The bare machine: only bare.toml, the key and the credentials.
        let listed = try Self.bare(workspace, ["snapshots", "v", "--offsite", "s3", "--config", workspace.path("bare.toml"), "--json"])
        try #require(listed.status == 0, "\(listed)")
        #expect(try listed.array().compactMap { $0["id"] as? String } == [first, second])
        let target = workspace.path("restored")
        let restored = try Self.bare(workspace, ["restore", "v", "--offsite", "s3", "--config", workspace.path("bare.toml"),
                                                 "--snapshot", String(first.prefix(10)), "--target", target, "--json"])
        try #require(restored.status == 0, "\(restored)")
        try expectSameTree(expected, target, "the first snapshot, restored from the bucket alone")
        #expect(workspace.list(target).contains("real-zoneinfo"))
        #expect(!workspace.exists(target + ".barge-import"), "the scratch store is removed after the restore")
        let verify = try Self.bare(workspace, ["offsite", "verify", "s3", "--read-data", "--config", workspace.path("bare.toml"), "--json"])
        #expect(verify.status == 0 && (try? verify.object()["clean"] as? Bool) == true, "\(verify)")

        // A wrong key is a clear error and writes nothing.
        try workspace.ok("offsite", "keygen", workspace.path("other.key"))
        let wrong = Self.table(server, bucket: "agent-copy", key: workspace.path("other.key"), credentials: workspace.path("s3.credentials"))
        try wrong.write(toFile: workspace.path("wrong.toml"), atomically: true, encoding: .utf8)
        let refused = try Self.bare(workspace, ["restore", "v", "--offsite", "s3", "--config", workspace.path("wrong.toml"), "--target", workspace.path("x")])
        #expect(refused.status == 1 && refused.stderr.contains("does not open") && refused.stderr.contains("hint:"), "\(refused)")
        #expect(!workspace.exists(workspace.path("x")))
    }

    static func waitForUpload(_ cluster: AgentCluster, _ snapshot: String, timeout: Double = 60) throws {
        let deadline = monotonicSeconds() + timeout
        var last: [String: Any] = [:]
        while monotonicSeconds() < deadline {
            last = try cluster.volumeStatus("d0")
            if let uploads = last["offsite"] as? [[String: Any]], uploads.first?["uploadedSnapshot"] as? String == snapshot
                || uploads.first?["uploaded_snapshot"] as? String == snapshot {
                return
            }
            usleep(200_000)
        }
        Issue.record("snapshot \(snapshot.prefix(12)) was not uploaded: \(last)\n\(cluster.log("d0").suffix(3000))")
        throw AgentClusterError.notReady("d0")
    }

    @Test func aKilledUploadResumesWithoutSendingAgainWhatLanded() throws {
        let server = try S3TestServer()
        let workspace = try Workspace("offsite-kill")
        let (expected, snapshot) = try OffsiteRestoreFaultTests.prepared(workspace, server, bucket: "kill-copy", seed: 91)

        let push = try workspace.start(["offsite", "push", "v", "--to", "s3", "--config", workspace.path("slow.toml"), "--json"])
        usleep(2_000_000)
        push.kill()
        let killed = push.wait()
        #expect(killed.signal == SIGKILL, "the upload was still running when killed: \(killed)")

        let listedBefore = try Self.bare(workspace, ["snapshots", "v", "--offsite", "s3", "--config", workspace.path("fast.toml"), "--json"])
        #expect(try listedBefore.array().isEmpty, "a killed upload lists nothing: \(listedBefore)")
        let resumed = try workspace.ok("offsite", "push", "v", "--to", "s3", "--config", workspace.path("fast.toml"), "--json").object()
        let sent = try #require(resumed["bytes_uploaded"] as? Int)
        let blobs = try #require(resumed["blobs_uploaded"] as? Int), needed = try #require(resumed["blobs_needed"] as? Int)
        #expect(blobs < needed && sent < 22_000_000, "what landed before the kill was not sent again: \(resumed)")
        #expect(resumed["snapshot"] as? String == snapshot)

        let target = workspace.path("restored")
        let restored = try Self.bare(workspace, ["restore", "v", "--offsite", "s3", "--config", workspace.path("fast.toml"), "--target", target])
        try #require(restored.status == 0, "\(restored)")
        try expectSameTree(expected, target, "the resumed upload, restored from the bucket")
    }
}
