import Foundation
import Testing
import TestSupport

/// History back onto a node that lost its disk: the agent re-seeds its empty
/// store from the owner by itself, lists a peer's snapshots, and restores an
/// older one fetched from the peer (only what its store lacks).
@Suite struct AgentHistoryTests {
    @Test func aReplicaThatLostItsDiskComesBackFromTheOwner() throws {
        let cluster = try AgentCluster("agent-history")
        let source = cluster.volumePath("v", on: "d0")
        try TreeGenerator(seed: 61).build(at: source)
        try cluster.start("d0")
        try cluster.start("d1")
        let state1 = try Manifest.capture(source)
        let first = try cluster.snapshot()
        _ = try cluster.replicate()
        var rng = SplitMix64(seed: 62)
        try Data(rng.bytes(700_000)).write(to: URL(fileURLWithPath: source + "/new.bin"))
        let second = try cluster.snapshot()
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: second)

        // d1's disk is replaced: an empty state directory.
        _ = cluster.stop("d1")
        try FileManager.default.removeItem(atPath: cluster.stateDirectory("d1"))
        try cluster.start("d1")
        try cluster.waitForStandby("d1", snapshot: second, timeout: 60)
        #expect(cluster.log("d1").contains("re-seeding it from its owner"), "\(cluster.log("d1").suffix(2000))")
        #expect(cluster.log("d1").contains("re-seeded from the owner"))
        let status = try cluster.volumeStatus("d1")
        #expect(status["reseed"] == nil || status["reseed"] is NSNull, "\(status)")
        #expect(status["latest_snapshot"] as? String == second)

        // The owner's history, listed and fetched through d1's agent.
        let listed = try cluster.ok("d1", "snapshots", "v", "--from", "d0", "--json").array().compactMap { $0["id"] as? String }
        #expect(listed == [first, second])
        let target = cluster.workspace.path("from-d0")
        let restored = try cluster.ok("d1", "restore", "v", "--from", "d0", "--snapshot", String(first.prefix(8)),
                                      "--target", target, "--state-dir", cluster.stateDirectory("d1"), "--json").object()
        try expectSameTree(state1, target, "snapshot 1 fetched from d0 and restored on d1")
        let fetched = try #require(restored["fetched"] as? [String: Any])
        #expect(fetched["peer"] as? String == "d0" && (fetched["bytes_received"] as? Int ?? .max) < 2_000_000,
                "only what d1 lacked came over: \(fetched)")
        let local = try cluster.workspace.barge("snapshots", "v", "--json", "--state-dir", cluster.stateDirectory("d1")).array()
        #expect(Set(local.compactMap { $0["id"] as? String }) == [first, second], "the fetched snapshot is d1's history now")
        #expect(try cluster.workspace.barge("verify", "--read-data", "--state-dir", cluster.stateDirectory("d1")).status == 0)

        // Clear errors: an unknown snapshot, an unknown peer.
        let missing = try cluster.run("d1", "restore", "v", "--from", "d0", "--snapshot", "ffffffff", "--target", target + "-x")
        #expect(missing.status != 0 && missing.stderr.contains("d0") && missing.stderr.contains("ffffffff"), "\(missing)")
        let stranger = try cluster.run("d1", "snapshots", "v", "--from", "nobody")
        #expect(stranger.status != 0 && stranger.stderr.contains("no [[peer]] named nobody"), "\(stranger)")
    }
}
