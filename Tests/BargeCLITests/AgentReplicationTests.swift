import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Real agent processes replicating over mutual TLS on loopback.
@Suite struct AgentReplicationTests {
    @Test func replicateChangeReplicateAgainStandbyMatchesSource() throws {
        let cluster = try AgentCluster("agent-repl")
        let source = cluster.volumePath("v", on: "d0")
        try TreeGenerator(seed: 21).build(at: source)
        try cluster.start("d0")
        try cluster.start("d1")

        let state1 = try Manifest.capture(source)
        let id1 = try cluster.snapshot()
        let first = try cluster.replicate()
        #expect(first["snapshot"] as? String == id1)
        let sent1 = try #require(first["bytes_sent"] as? Int)
        try cluster.waitForStandby("d1", snapshot: id1)
        try expectSameTree(state1, cluster.standbyPath("v", on: "d1"), "standby after the first replication")

        let changes = try #require(Changes.file)
        try changes.apply(to: source)
        let state2 = try Manifest.capture(source)
        let id2 = try cluster.snapshot()
        let second = try cluster.replicate()
        let sent2 = try #require(second["bytes_sent"] as? Int)
        #expect(sent2 * 5 < sent1, "the second replication sends only what changed (\(sent2) vs \(sent1))")
        try cluster.waitForStandby("d1", snapshot: id2)
        try expectSameTree(state2, cluster.standbyPath("v", on: "d1"), "standby after the second replication")

        // What the owner knows about its replica, and what the replica says about itself.
        let owner = try cluster.volumeStatus("d0")
        #expect(owner["role"] as? String == "owner" && owner["epoch"] as? Int == 1)
        let replica = try #require((owner["replicas"] as? [[String: Any]])?.first)
        #expect(replica["peer"] as? String == "d1" && replica["acked_snapshot"] as? String == id2)
        #expect(replica["lag_seconds"] as? Double == 0 && replica["lag_bytes"] as? Int == 0)
        let standby = try cluster.volumeStatus("d1")
        #expect(standby["role"] as? String == "replica" && standby["owner"] as? String == "d0")
        #expect(standby["standby_path"] as? String == cluster.standbyPath("v", on: "d1"))
        var info = stat()
        #expect(lstat(cluster.workspace.path("d1/vols/.barge-standby"), &info) == 0 && info.st_mode & 0o777 == 0o700,
                "the standby's parent is root-only")

        let metrics = try cluster.httpGet("d0", "/metrics")
        #expect(metrics.contains("200 OK"))
        #expect(metrics.contains("barge_replication_bytes_sent_total{volume=\"v\",peer=\"d1\"}"), "\(metrics.suffix(2000))")
        #expect(metrics.contains("barge_snapshots_total{volume=\"v\"} 2"))
        #expect(metrics.contains("barge_replication_lag_seconds"))
        #expect(try cluster.httpGet("d0", "/nope").contains("404"))

        try cluster.expectVerified("d1")
    }

    @Test func killedReceiverAndKilledSenderResumeWithoutResending() throws {
        let cluster = try AgentCluster("agent-kill")
        cluster.peerExtras["d0>d1"] = "bandwidth_limit = \"4MiB/s\""
        let source = cluster.volumePath("v", on: "d0")
        var rng = SplitMix64(seed: 33)
        for index in 0..<3 { try Data(rng.bytes(8 << 20)).write(to: URL(fileURLWithPath: "\(source)/part\(index).bin")) }
        try cluster.start("d0")
        try cluster.start("d1")
        let id = try cluster.snapshot()
        let blobs = { (try? cluster.workspace.sql("SELECT count(*) FROM blob", in: cluster.stateDirectory("d1")))?.first?.first.flatMap { Int($0) } ?? 0 }

        // 1. The receiver dies (SIGKILL) after its first checkpoint.
        let transfer1 = try cluster.startRun("d0", "replicate", "v", "--json")
        try waitUntil(timeout: 30) { blobs() >= 100 }
        cluster.stop("d1", signal: SIGKILL)
        #expect(transfer1.wait().status != 0, "the replication reports the lost receiver")
        let afterReceiverKill = blobs()

        // 2. The sender dies (SIGKILL) mid-transfer: the receiver keeps what it verified.
        try cluster.start("d1")
        let packBytes = { cluster.packBytes("d1") }
        let packBytesBefore = packBytes()
        let transfer2 = try cluster.startRun("d0", "replicate", "v", "--json")
        try waitUntil(timeout: 30) { packBytes() >= packBytesBefore + (5 << 20) }
        cluster.stop("d0", signal: SIGKILL)
        _ = transfer2.wait()
        try waitUntil(timeout: 10) { blobs() > afterReceiverKill + 60 }

        // 3. Restarted, the owner finishes: only what is still missing travels.
        try cluster.start("d0")
        let last = try cluster.replicate()
        let sent = try #require(last["bytes_sent"] as? Int)
        #expect(sent < 12 << 20, "resumed transfer sent \(sent) bytes of 24 MiB")
        try cluster.waitForStandby("d1", snapshot: id)
        try expectSameTree(try Manifest.capture(source), cluster.standbyPath("v", on: "d1"), "standby after two kills")
        // The copy the killed receiver was writing during its transfer is gone too.
        let copies = (cluster.standbyPath("v", on: "d1") as NSString).deletingLastPathComponent
        #expect(cluster.workspace.list(copies) == ["v"], "no staging copy left behind")
        try cluster.expectVerified("d1")
    }

    @Test func theSchedulerSnapshotsAndReplicatesOnlyWhatChanged() throws {
        let cluster = try AgentCluster("agent-schedule")
        cluster.interval = "300ms"
        let source = cluster.volumePath("v", on: "d0")
        try Data("first".utf8).write(to: URL(fileURLWithPath: source + "/file"))
        try cluster.start("d1")
        try cluster.start("d0")
        try waitUntil(timeout: 20) { try cluster.volumeStatus("d1")["standby_snapshot"] is String }
        let first = try #require(try cluster.volumeStatus("d1")["standby_snapshot"] as? String)
        usleep(1_500_000)
        #expect(try cluster.volumeStatus("d0")["snapshots"] as? Int == 1, "an unchanged volume gets no new snapshots")
        try Data("second".utf8).write(to: URL(fileURLWithPath: source + "/file"))
        try waitUntil(timeout: 20) { try cluster.volumeStatus("d1")["standby_snapshot"] as? String != first }
        try expectSameTree(try Manifest.capture(source), cluster.standbyPath("v", on: "d1"), "standby after a scheduled cycle")
        #expect(try cluster.volumeStatus("d0")["snapshots"] as? Int == 2)
    }

    @Test func logLinesCarrySyslogPrioritiesUnderJournald() throws {
        let cluster = try AgentCluster("agent-journal")
        try cluster.config(for: "d0").write(toFile: cluster.configPath("d0"), atomically: true, encoding: .utf8)
        let errors = cluster.workspace.path("journal.err")
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BargeBinary.path)
        process.arguments = ["agent", "--config", cluster.configPath("d0")]
        process.environment = ProcessInfo.processInfo.environment.merging(["JOURNAL_STREAM": "8:12345"]) { $1 }
        process.standardError = FileHandle(forWritingAtPath: errors)
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        let log = { String(decoding: FileManager.default.contents(atPath: errors) ?? Data(), as: UTF8.self) }
        try waitUntil(timeout: 20) { log().contains("listening for peers") }
        let lines = log().split(separator: "\n")
        #expect(lines.first?.hasPrefix("<5>notice agent starting") == true, "\(lines.prefix(3))")
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "every line carries its priority, and no time of its own: \(lines)")
    }

    @Test func sigtermMidTransferStopsCleanly() throws {
        let cluster = try AgentCluster("agent-term")
        cluster.peerExtras["d0>d1"] = "bandwidth_limit = \"2MiB/s\""
        var rng = SplitMix64(seed: 34)
        try Data(rng.bytes(10 << 20)).write(to: URL(fileURLWithPath: cluster.volumePath("v", on: "d0") + "/blob.bin"))
        try cluster.start("d0")
        try cluster.start("d1")
        let id = try cluster.snapshot()
        let transfer = try cluster.startRun("d0", "replicate", "v")
        usleep(1_500_000)
        let started = monotonicSeconds()
        let stopped = try #require(cluster.stop("d1", signal: SIGTERM))
        #expect(stopped.status == 0, "SIGTERM is a clean stop: \(stopped)")
        #expect(monotonicSeconds() - started < 10)
        #expect(stopped.stderr.contains("agent stopped"))
        #expect(transfer.wait().status != 0)
        try cluster.start("d1")
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: id)
        try cluster.expectVerified("d1")
    }
}

/// Polls `condition` every 20 ms; fails the test when it stays false.
func waitUntil(timeout: Double, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () throws -> Bool) throws {
    let deadline = monotonicSeconds() + timeout
    while monotonicSeconds() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    Issue.record("condition not met within \(timeout) s", sourceLocation: sourceLocation)
    throw AgentClusterError.timeout
}

extension Workspace {
    /// Rows of a query against another node's index.
    func sql(_ statement: String, in stateDirectory: String) throws -> [[String]] {
        try readOnlySQL(stateDirectory + "/index.sqlite", statement).split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
    }
}

/// A query through the sqlite3 CLI, read-only, output with `|` between columns.
func readOnlySQL(_ database: String, _ statement: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
    process.arguments = ["-batch", "-readonly", "-separator", "|", database, statement]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
