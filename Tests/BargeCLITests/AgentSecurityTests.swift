import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Who may talk to an agent, and what a hostile peer can and cannot do.
@Suite struct AgentSecurityTests {
    @Test func foreignCertificateAndUnknownPeerAreRefused() throws {
        let cluster = try AgentCluster("agent-auth", nodes: ["d0", "d1", "d9"],
                                       volumes: [.init(name: "v", owner: "d0", replicas: ["d1"]), .init(name: "w", owner: "d9", replicas: ["d1"])])
        try Data("state".utf8).write(to: URL(fileURLWithPath: cluster.volumePath("v", on: "d0") + "/file"))
        try Data("other".utf8).write(to: URL(fileURLWithPath: cluster.volumePath("w", on: "d9") + "/file"))
        // d1 knows d0 only: its config lists neither d9 nor d9's volume.
        try cluster.start("d1", config: cluster.config(for: "d1", without: ["d9", "w"]))

        // An impostor named d0 whose certificate comes from another CA.
        let ws = cluster.workspace
        try ws.ok("cert", "init-ca", "--out", ws.path("evil-ca"))
        try ws.ok("cert", "issue", "d0", "--ca", ws.path("evil-ca"), "--out", ws.path("evil"))
        try cluster.start("d0", config: cluster.config(for: "d0", tls: (ws.path("evil-ca/ca.pem"), ws.path("evil/d0.pem"), ws.path("evil/d0.key"))))
        _ = try cluster.snapshot()
        let impostor = try cluster.run("d0", "replicate", "v", "--json")
        #expect(impostor.status == 1, "\(impostor)")
        try waitUntil(timeout: 10) { cluster.log("d1").contains("TLS handshake failed") }
        #expect(try cluster.volumeStatus("d1")["latest_snapshot"] == nil, "nothing was accepted from the impostor")
        cluster.stop("d0")

        // d9 holds a valid certificate of the cluster, but d1 does not list it.
        try cluster.start("d9")
        _ = try cluster.snapshot("d9", "w")
        let stranger = try cluster.run("d9", "replicate", "w", "--json")
        #expect(stranger.status == 1)
        #expect(stranger.stderr.contains("not a configured peer"), "\(stranger)")
        #expect(cluster.log("d1").contains("refused a peer that is not configured"))

        // The real d0 is served as before.
        try cluster.start("d0")
        let id = try cluster.snapshot()
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: id)
    }

    @Test func hostileFramesDoNotDisturbTheAgent() throws {
        let cluster = try AgentCluster("agent-hostile")
        var rng = SplitMix64(seed: 8)
        try Data(rng.bytes(300_000)).write(to: URL(fileURLWithPath: cluster.volumePath("v", on: "d0") + "/file"))
        try cluster.start("d0")
        try cluster.start("d1")
        let ws = cluster.workspace
        let script = TestData.directory.deletingLastPathComponent().appendingPathComponent("agent/hostile_client.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, cluster.address("d1"), "\(cluster.port)", ws.path("ca/ca.pem"),
                             ws.path("certs/d0.pem"), ws.path("certs/d0.key"), "d1", "42"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(lines.count >= 30, "\(lines)")
        let answers = Dictionary(uniqueKeysWithValues: lines.map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), String(parts.count > 1 ? parts[1] : "").trimmingCharacters(in: .whitespaces))
        })
        // Frames that reach the decoder get a reasoned error frame before the close.
        #expect(answers["huge-length"] == "error-frame code=9", "\(answers)")
        #expect(answers["unknown-type"] == "error-frame code=1", "\(answers)")
        #expect(answers["hello-then-bad-counts"] == "error-frame code=9", "\(answers)")
        #expect(answers["hello-then-blob-unasked"] == "error-frame code=12", "\(answers)")
        #expect(answers["wrong-hello-name"] == "error-frame code=3", "\(answers)")
        #expect(answers["plain-garbage"]?.hasPrefix("closed") == true)

        // The agent still serves its real peer and its operator.
        let id = try cluster.snapshot()
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: id)
        #expect(cluster.agents["d1"]?.process.isRunning == true)
    }

    @Test func aReplicaRefusesAnOwnerItDoesNotKnow() throws {
        let cluster = try AgentCluster("agent-owner")
        // d1 believes d1 owns v: d0's offer is not from the owner d1 knows.
        cluster.ownerOverrides["d1/v"] = "d1"
        try Data("x".utf8).write(to: URL(fileURLWithPath: cluster.volumePath("v", on: "d0") + "/file"))
        try cluster.start("d0")
        var d1 = cluster.config(for: "d1")
        d1 = d1.replacingOccurrences(of: "replicas = [\"d1\"]", with: "replicas = [\"d0\"]")
        try cluster.start("d1", config: d1)
        _ = try cluster.snapshot()
        let refused = try cluster.run("d0", "replicate", "v")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("notOwner") && refused.stderr.contains("knows d1 as the owner"), "\(refused)")
        #expect(try cluster.volumeStatus("d1")["latest_snapshot"] == nil)
    }

    @Test func controlSocketIsRootOnly() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let cluster = try AgentCluster("agent-socket")
        try cluster.start("d0")
        var info = stat()
        #expect(lstat(cluster.socket("d0"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        let asNobody = try cluster.workspace.barge(["status", "--socket", cluster.socket("d0")],
                                                   wrapper: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(asNobody.status == 1, "\(asNobody)")
        #expect(asNobody.stderr.contains("root-only"), "\(asNobody)")
        #expect(try cluster.run("d0", "status").status == 0)
    }

    /// Modes loosened by hand: the agent still refuses by peer credentials,
    /// and the CLI says what docs/operations.md says, whether the refusal
    /// reaches it while writing (EPIPE) or reading (EOF, ECONNRESET)
    /// (issue 11, finding 5). Run a few times: which one happens is a race.
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "needs root and /usr/bin/setpriv to run the CLI as another user"))
    func aLoosenedControlSocketRefusesWithTheDocumentedMessage() throws {
        let cluster = try AgentCluster("agent-socket-loose")
        try cluster.start("d0")
        let socket = cluster.socket("d0")
        #expect(chmod(socket, 0o666) == 0 && chmod(cluster.workspace.root, 0o755) == 0)
        for _ in 0..<8 {
            let asNobody = try cluster.workspace.barge(["status", "--socket", socket],
                                                       wrapper: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
            #expect(asNobody.status == 1, "\(asNobody)")
            #expect(asNobody.stderr == "barge: error: the agent at \(socket) closed the connection without answering\n"
                    + "  hint: see the agent's log (journalctl -u barge)\n", "\(asNobody)")
        }
        #expect(cluster.log("d0").contains("refused a control connection from uid 65534: the control socket is root-only"))
        #expect(try cluster.run("d0", "status").status == 0)
    }

    @Test func reloadAppliesAValidConfigAndKeepsTheOldOnError() throws {
        let cluster = try AgentCluster("agent-reload")
        try cluster.start("d0")
        #expect((try cluster.status("d0")["volumes"] as? [Any])?.count == 1)
        let extraPath = cluster.workspace.path("d0/vols/extra")
        try FileManager.default.createDirectory(atPath: extraPath, withIntermediateDirectories: true)
        let withExtra = cluster.config(for: "d0") + "[[volume]]\nname = \"extra\"\npath = \"\(extraPath)\"\nowner = \"d0\"\n"
        try withExtra.write(toFile: cluster.configPath("d0"), atomically: true, encoding: .utf8)
        cluster.signal("d0", SIGHUP)
        try waitUntil(timeout: 10) { (try cluster.status("d0")["volumes"] as? [Any])?.count == 2 }
        try (withExtra + "[[volume]]\nname = \"broken\"\n").write(toFile: cluster.configPath("d0"), atomically: true, encoding: .utf8)
        cluster.signal("d0", SIGHUP)
        try waitUntil(timeout: 10) { cluster.log("d0").contains("reload failed, keeping the running configuration") }
        #expect(cluster.log("d0").contains("d0.toml:"), "the error names the file and line")
        #expect((try cluster.status("d0")["volumes"] as? [Any])?.count == 2)
        _ = try cluster.snapshot("d0", "extra")
    }
}
