import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Moving a volume and its (stand-in) container between real agents, under load.
@Suite struct AgentMoveTests {
    private func threeNodes(_ label: String) throws -> (AgentCluster, ContainerLedger) {
        let cluster = try AgentCluster(label, nodes: ["d0", "d1", "d2"], volumes: [.init(name: "app", owner: "d0", replicas: ["d1", "d2"])])
        cluster.containerHooks = true
        var rng = SplitMix64(seed: 77)
        // Bulk beside the database, so "far below the volume size" means something.
        try Data(rng.bytes(16 << 20)).write(to: URL(fileURLWithPath: cluster.volumePath("app", on: "d0") + "/bulk.bin"))
        return (cluster, ContainerLedger(directory: cluster.containerDirectory))
    }

    private func startAll(_ cluster: AgentCluster) throws {
        for node in cluster.nodes { try cluster.start(node) }
        try waitUntil(timeout: 30) { try cluster.volumeStatus("d0", "app")["container"] as? String == "up" }
    }

    /// Every commit acknowledged before the move is in the database the new owner serves.
    private func expectAcknowledgedCommitsPresent(_ cluster: AgentCluster, _ ledger: ContainerLedger, on node: String, before acked: Int,
                                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (rows, integrity) = try ContainerLedger.database(cluster.volumePath("app", on: node) + "/app.db")
        #expect(integrity == "ok", "PRAGMA integrity_check on \(node): \(integrity)", sourceLocation: sourceLocation)
        let missing = ledger.acknowledged().prefix(acked).map(\.n).filter { !rows.contains($0) }
        #expect(missing.isEmpty, "acknowledged commits missing on \(node): \(missing.prefix(20))", sourceLocation: sourceLocation)
    }

    private func reload(_ cluster: AgentCluster, _ node: String) throws {
        try cluster.config(for: node).write(toFile: cluster.configPath(node), atomically: true, encoding: .utf8)
        let reloads = cluster.log(node).components(separatedBy: "configuration reloaded").count
        cluster.signal(node, SIGHUP)
        try waitUntil(timeout: 10) { cluster.log(node).components(separatedBy: "configuration reloaded").count > reloads }
    }

    @Test func twentyMigrationsUnderLoadLoseNothing() throws {
        let (cluster, ledger) = try threeNodes("move-twenty")
        try startAll(cluster)
        var owner = "d0"
        for round in 0..<20 {
            let target = owner == "d0" ? (round % 5 == 4 ? "d2" : "d1") : "d0"
            try ledger.waitForProgress(on: owner, beyond: 0)
            let migration = try cluster.ok(owner, "migrate", "app", "--to", target, "--json").object()
            let acked = ledger.acknowledged().count
            #expect(migration["to"] as? String == target && (migration["downtime_s"] as? Double ?? 99) < 10)
            #expect((migration["bytes_sent"] as? Int ?? 0) > 0)
            try ledger.waitForProgress(on: target, beyond: ledger.acknowledged().filter { $0.node == target }.count)
            try expectAcknowledgedCommitsPresent(cluster, ledger, on: target, before: acked)
            let status = try cluster.volumeStatus(target, "app")
            #expect(status["owner"] as? String == target && status["epoch"] as? Int == round + 2 && status["container"] as? String == "up")
            #expect(!FileManager.default.fileExists(atPath: cluster.volumePath("app", on: owner)), "the old owner's path holds nothing")
            owner = target
        }
        #expect(ledger.violations.isEmpty, "the container ran on two nodes at once: \(ledger.violations)")
        #expect(ledger.acknowledged().count > 100)
    }

    @Test func failoverFencesTheOldOwnerAndFailsBackCheaply() throws {
        let (cluster, ledger) = try threeNodes("move-failover")
        try startAll(cluster)
        try ledger.waitForProgress(on: "d0", beyond: 20)
        _ = try cluster.snapshot("d0", "app")
        _ = try cluster.ok("d0", "replicate", "app")
        try cluster.waitForStandby("d1", "app", snapshot: try #require(try cluster.volumeStatus("d0", "app")["latest_snapshot"] as? String))
        // The container keeps committing after the last replication: those commits are the divergence.
        try ledger.waitForProgress(on: "d0", beyond: ledger.acknowledged().count + 20)

        // d0 dies: agent and container.
        cluster.stop("d0", signal: SIGKILL)
        cluster.killContainers(of: "d0")
        let refused = try cluster.run("d1", "failover", "app", "--to", "d2")
        #expect(refused.status == 2, "failover runs on the node that takes the volume: \(refused)")
        let failover = try cluster.ok("d1", "failover", "app", "--to", "d1", "--json").object()
        #expect(failover["epoch"] as? Int == 2 && failover["from"] as? String == "d0")
        #expect((failover["promotion_s"] as? Double ?? 99) < 5)
        #expect((failover["may_lose_since_s"] as? Double ?? -1) >= 0)
        try ledger.waitForProgress(on: "d1", beyond: 0)
        #expect(try cluster.volumeStatus("d1", "app")["container"] as? String == "up")
        // The new owner's first snapshot does not read again what barge itself materialized.
        let firstOnD1 = try cluster.ok("d1", "snapshot", "app", "--json").object()
        #expect((firstOnD1["bytes_read"] as? Int ?? .max) < 4 << 20, "the promoted bulk file is not read again: \(firstOnD1)")

        // d0 comes back: it learns of epoch 2, keeps its extra commits as a diverged snapshot, and stays stopped.
        let d0Commits = ledger.acknowledged().filter { $0.node == "d0" }.count
        try cluster.start("d0")
        try waitUntil(timeout: 30) { try cluster.volumeStatus("d0", "app")["standby_snapshot"] is String }
        #expect(try cluster.volumeStatus("d0", "app")["role"] as? String == "replica")
        let snapshots = try cluster.workspace.barge("snapshots", "app", "--json", "--state-dir", cluster.stateDirectory("d0")).array()
        #expect(snapshots.contains { $0["state"] as? String == "diverged" }, "\(snapshots)")
        #expect(!FileManager.default.fileExists(atPath: cluster.volumePath("app", on: "d0")), "the fenced node's path holds nothing")
        #expect(ledger.acknowledged().filter { $0.node == "d0" }.count == d0Commits, "the fenced container never started")

        // Fail back: only what differs from d0's own (diverged) copy travels, then a migration.
        _ = try cluster.snapshot("d1", "app")
        let resync = try cluster.ok("d1", "replicate", "app", "--to", "d0", "--json").object()
        let bytes = try #require(resync["bytes_sent"] as? Int)
        #expect(bytes < 4 << 20, "fail-back resync sent \(bytes) bytes for a 16+ MiB volume")
        let back = try cluster.ok("d1", "migrate", "app", "--to", "d0", "--json").object()
        #expect(back["to"] as? String == "d0" && back["epoch"] as? Int == 3)
        try ledger.waitForProgress(on: "d0", beyond: d0Commits)
        try expectAcknowledgedCommitsPresent(cluster, ledger, on: "d0",
                                             before: ledger.acknowledged().lastIndex { $0.node == "d1" }.map { $0 + 1 } ?? 0)
        #expect(ledger.violations.isEmpty, "\(ledger.violations)")
    }

    @Test func hookFailuresAndADeadTargetRollBack() throws {
        let (cluster, ledger) = try threeNodes("move-rollback")
        cluster.hookArguments["d1/start"] = "--fail"
        try startAll(cluster)
        try ledger.waitForProgress(on: "d0", beyond: 5)

        // The target's start hook fails after the hand-over: the volume comes back to d0.
        let failedStart = try cluster.run("d0", "migrate", "app", "--to", "d1")
        #expect(failedStart.status == 1 && failedStart.stderr.contains("could not start"), "\(failedStart)")
        var status = try cluster.volumeStatus("d0", "app")
        #expect(status["owner"] as? String == "d0" && status["container"] as? String == "up", "\(status)")
        try ledger.waitForProgress(on: "d0", beyond: ledger.acknowledged().filter { $0.node == "d0" }.count)

        // The source's stop hook fails: the migration stops and the container runs here.
        cluster.hookArguments["d0/stop"] = "--fail"
        try reload(cluster, "d0")
        let failedStop = try cluster.run("d0", "migrate", "app", "--to", "d2")
        #expect(failedStop.status == 1 && failedStop.stderr.contains("stop hook"), "\(failedStop)")
        status = try cluster.volumeStatus("d0", "app")
        #expect(status["owner"] as? String == "d0" && status["container"] as? String == "up", "\(status)")
        cluster.hookArguments["d0/stop"] = nil

        // The target dies mid-migration (during pre-copy): the container keeps running here.
        cluster.peerExtras["d0>d2"] = "bandwidth_limit = \"1MiB/s\""
        try reload(cluster, "d0")
        var rng = SplitMix64(seed: 78)
        try Data(rng.bytes(12 << 20)).write(to: URL(fileURLWithPath: cluster.volumePath("app", on: "d0") + "/more.bin"))
        let migration = try cluster.startRun("d0", "migrate", "app", "--to", "d2")
        usleep(2_000_000)
        cluster.stop("d2", signal: SIGKILL)
        #expect(migration.wait().status == 1)
        status = try cluster.volumeStatus("d0", "app")
        #expect(status["owner"] as? String == "d0" && status["container"] as? String == "up", "\(status)")
        try ledger.waitForProgress(on: "d0", beyond: ledger.acknowledged().filter { $0.node == "d0" }.count)
        try expectAcknowledgedCommitsPresent(cluster, ledger, on: "d0", before: ledger.acknowledged().count)
        #expect(ledger.violations.isEmpty, "\(ledger.violations)")
    }

    @Test func drainMovesEveryOwnedVolumeAndStatusShowsIt() throws {
        let cluster = try AgentCluster("move-drain", volumes: [.init(name: "app", owner: "d0", replicas: ["d1"]),
                                                               .init(name: "web", owner: "d0", replicas: ["d1"])])
        cluster.containerHooks = true
        let ledger = ContainerLedger(directory: cluster.containerDirectory)
        for node in cluster.nodes { try cluster.start(node) }
        try waitUntil(timeout: 30) {
            try ["app", "web"].allSatisfy { try cluster.volumeStatus("d0", $0)["container"] as? String == "up" }
        }
        let drain = try cluster.ok("d0", "drain", "--json").object()
        let migrations = try #require(drain["migrations"] as? [[String: Any]])
        #expect(Set(migrations.compactMap { $0["volume"] as? String }) == ["app", "web"] && migrations.allSatisfy { $0["to"] as? String == "d1" })
        for volume in ["app", "web"] {
            let moved = try cluster.volumeStatus("d1", volume)
            #expect(moved["owner"] as? String == "d1" && moved["role"] as? String == "owner" && moved["container"] as? String == "up")
            let drained = try cluster.volumeStatus("d0", volume)
            #expect(drained["role"] as? String == "replica" && drained["container"] as? String == "down")
        }
        let again = try cluster.ok("d0", "drain").out
        #expect(again.contains("owns no volumes"))
        #expect(ledger.violations.isEmpty, "\(ledger.violations)")
    }

    @Test func aTargetWhosePathHoldsDataRefusesAndNothingIsDamaged() throws {
        let cluster = try AgentCluster("move-stray")
        cluster.containerHooks = true
        let ledger = ContainerLedger(directory: cluster.containerDirectory)
        let stray = cluster.volumePath("v", on: "d1")
        try FileManager.default.createDirectory(atPath: stray, withIntermediateDirectories: true)
        try Data("someone else's".utf8).write(to: URL(fileURLWithPath: stray + "/stray.txt"))
        for node in cluster.nodes { try cluster.start(node) }
        try waitUntil(timeout: 30) { try cluster.volumeStatus("d0")["container"] as? String == "up" }
        try ledger.waitForProgress(on: "d0", beyond: 5)

        let refused = try cluster.run("d0", "migrate", "v", "--to", "d1")
        #expect(refused.status == 1 && refused.stderr.contains("already holds data"), "\(refused)")
        #expect(try cluster.volumeStatus("d0")["owner"] as? String == "d0" && (try cluster.volumeStatus("d0")["container"] as? String) == "up")
        #expect(try String(contentsOfFile: stray + "/stray.txt", encoding: .utf8) == "someone else's", "the stray data is untouched")
        let standby = try cluster.volumeStatus("d1")
        #expect(standby["standby_snapshot"] is String && standby["owner"] as? String == "d0", "d1 keeps its standby and is a replica: \(standby)")

        try FileManager.default.removeItem(atPath: stray)
        _ = try cluster.ok("d0", "migrate", "v", "--to", "d1")
        try ledger.waitForProgress(on: "d1", beyond: 0)
        let (rows, integrity) = try ContainerLedger.database(stray + "/app.db")
        #expect(integrity == "ok" && !rows.isEmpty)
        #expect(ledger.violations.isEmpty, "\(ledger.violations)")
    }

    @Test func aForcedFailoverFencesAnOwnerThatStillAnswers() throws {
        let cluster = try AgentCluster("move-force")
        cluster.containerHooks = true
        let ledger = ContainerLedger(directory: cluster.containerDirectory)
        for node in cluster.nodes { try cluster.start(node) }
        try waitUntil(timeout: 30) { try cluster.volumeStatus("d0")["container"] as? String == "up" }
        _ = try cluster.snapshot()
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: try #require(try cluster.volumeStatus("d0")["latest_snapshot"] as? String))

        let refused = try cluster.run("d1", "failover", "v", "--to", "d1")
        #expect(refused.status == 1 && refused.stderr.contains("still answers"), "\(refused)")
        #expect(try cluster.volumeStatus("d0")["container"] as? String == "up")

        let forced = try cluster.ok("d1", "failover", "v", "--to", "d1", "--force", "--json").object()
        #expect(forced["epoch"] as? Int == 2 && forced["forced"] as? Bool == true)
        // d0 heard of epoch 2 before d1 started: it stopped, kept its state, became a replica.
        let fenced = try cluster.volumeStatus("d0")
        #expect(fenced["role"] as? String == "replica" && fenced["container"] as? String == "down", "\(fenced)")
        let snapshots = try cluster.workspace.barge("snapshots", "v", "--json", "--state-dir", cluster.stateDirectory("d0")).array()
        #expect(snapshots.contains { $0["state"] as? String == "diverged" })
        try ledger.waitForProgress(on: "d1", beyond: 0)
        #expect(ledger.violations.isEmpty, "the container ran on both nodes: \(ledger.violations)")
    }

    /// The owner freezes (SIGSTOP) in the middle of a transfer: nothing fails on the
    /// replica's side until the session's idle limit (minutes), and the reception held
    /// the volume's lock all along. A failover to the replica cuts that transfer off
    /// and comes up at once, at the last snapshot it holds whole.
    @Test func aFailoverDoesNotWaitForATransferFromAFrozenOwner() throws {
        let (cluster, first) = try replicatedOverASlowLink("move-frozen")
        let source = cluster.volumePath("v", on: "d0")
        let expected = try Manifest.capture(source)

        var rng = SplitMix64(seed: 41)
        try Data(rng.bytes(24 << 20)).write(to: URL(fileURLWithPath: source + "/big.bin"))
        _ = try cluster.snapshot()
        let packBytes = { cluster.packBytes("d1") }
        let before = packBytes()
        let transfer = try cluster.startRun("d0", "replicate", "v", "--json")
        try waitUntil(timeout: 30) { packBytes() >= before + (2 << 20) }
        cluster.signal("d0", SIGSTOP)
        defer { cluster.signal("d0", SIGCONT) }

        let started = Date()
        let failover = try cluster.ok("d1", "failover", "v", "--to", "d1", "--json").object()
        let seconds = Date().timeIntervalSince(started)
        // The probe of the frozen owner takes its 5 s; the transfer held the lock for minutes before.
        #expect(seconds < 30, "the failover waited \(seconds) s behind the frozen owner's transfer")
        #expect(failover["snapshot"] as? String == first, "came up at the last snapshot held whole: \(failover)")
        #expect(cluster.log("d1").contains("cut off the transfer from d0"))
        try expectSameTree(expected, cluster.volumePath("v", on: "d1"), "the volume after the failover")
        try cluster.expectVerified("d1", "what the cut transfer verified is kept, intact")
        cluster.stop("d0", signal: SIGKILL)
        _ = transfer.wait()
    }

    /// A failover that the live owner's answer refuses is refused before anything is
    /// cut: the transfer the owner is sending goes on, and the refusal does not wait for it.
    @Test func aRefusedFailoverLeavesTheOwnersTransferAlone() throws {
        let (cluster, _) = try replicatedOverASlowLink("move-refused")
        let source = cluster.volumePath("v", on: "d0")

        var rng = SplitMix64(seed: 42)
        try Data(rng.bytes(12 << 20)).write(to: URL(fileURLWithPath: source + "/big.bin"))
        let second = try cluster.snapshot()
        let before = cluster.packBytes("d1")
        let transfer = try cluster.startRun("d0", "replicate", "v", "--json")
        try waitUntil(timeout: 30) { cluster.packBytes("d1") >= before + (2 << 20) }

        let started = Date()
        let refused = try cluster.run("d1", "failover", "v", "--to", "d1")
        let seconds = Date().timeIntervalSince(started)
        #expect(refused.status != 0 && refused.stderr.contains("still answers"), "\(refused)")
        #expect(seconds < 4, "the refusal waited \(seconds) s (for the transfer?)")
        let done = transfer.wait()
        #expect(done.status == 0, "the transfer was not cut off: \(done)")
        #expect(!cluster.log("d1").contains("cut off the transfer"), "\(cluster.log("d1").suffix(2000))")
        try cluster.waitForStandby("d1", snapshot: second)
        #expect(try cluster.volumeStatus("d1")["owner"] as? String == "d0")
    }

    /// A final copy that cannot finish within `max_downtime` (the stop hook leaves 12 MiB of new data,
    /// the link carries 1 MiB/s): the migration gives up at the budget, the container starts here
    /// again, the target never promotes, and nothing of the volume is lost.
    @Test func aFinalCopyOverItsDowntimeBudgetStopsTheMigrationAndTheContainerRunsHereAgain() throws {
        let (cluster, first) = try replicatedOverASlowLink("move-budget") { cluster in
            cluster.peerExtras["d0>d1"] = "bandwidth_limit = \"1MiB/s\""
            let log = cluster.workspace.path("hooks.log")
            cluster.volumeExtras["v"] = """
                max_downtime = "2s"
                [volume.hooks]
                stop = "echo stop >> \(log); head -c 12582912 /dev/urandom > \\"$BARGE_PATH/late.bin\\""
                start = "echo start >> \(log)"
                """
        }
        let log = cluster.workspace.path("hooks.log")
        try waitUntil(timeout: 20) { (try? String(contentsOfFile: log, encoding: .utf8))?.hasSuffix("start\n") == true }
        let started = Date()
        let refused = try cluster.run("d0", "migrate", "v", "--to", "d1")
        let seconds = Date().timeIntervalSince(started)
        #expect(refused.status == 1 && refused.stderr.contains("downtime budget of 2 s") && refused.stderr.contains("max_downtime"),
                "\(refused)")
        #expect(seconds < 10, "the migration waited \(seconds) s for a final copy of 12 s at most 2 s long")
        let hooks = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(hooks.suffix(2) == ["stop", "start"], "stopped, then started here again: \(hooks)")
        let owner = try cluster.volumeStatus("d0")
        #expect(owner["owner"] as? String == "d0", "\(owner)")
        let replica = try cluster.volumeStatus("d1")
        #expect(replica["owner"] as? String != "d1", "the target never took the volume: \(replica)")
        let final = try #require(owner["latest_snapshot"] as? String)
        let standby = try #require(replica["standby_snapshot"] as? String, "\(replica)")
        #expect(standby != final && standby != first, "its standby copy stays the pre-copy's, not the final snapshot cut short: \(replica)")
        #expect(FileManager.default.fileExists(atPath: cluster.volumePath("v", on: "d0") + "/late.bin"), "the live data stays here")
        try cluster.expectVerified("d1")

        let invalid = try cluster.run("d0", "migrate", "v", "--to", "d1", "--max-downtime", "soon")
        #expect(invalid.status == 2 && invalid.stderr.contains("--max-downtime"), "\(invalid)")
    }

    /// Two agents, d0 → d1 limited to 2 MiB/s, a first small snapshot in d1's standby copy.
    private func replicatedOverASlowLink(_ label: String, configure: (AgentCluster) -> Void = { _ in }) throws -> (AgentCluster, first: String) {
        let cluster = try AgentCluster(label)
        cluster.peerExtras["d0>d1"] = "bandwidth_limit = \"2MiB/s\""
        configure(cluster)
        try Data("first".utf8).write(to: URL(fileURLWithPath: cluster.volumePath("v", on: "d0") + "/small"))
        for node in cluster.nodes { try cluster.start(node) }
        let first = try cluster.snapshot()
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: first)
        return (cluster, first)
    }
}
