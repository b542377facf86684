import Foundation
import Testing
import TestSupport

/// Retention on running agents: each node applies `[volume.retention]` to its
/// own store on schedule, `forget` goes through the agent, and what a node
/// still needs is never forgotten.
@Suite struct AgentRetentionTests {
    @Test func agentsApplyTheirPolicyAndForgetGoesThroughTheAgent() throws {
        let cluster = try AgentCluster("agent-retention")
        cluster.nodeExtras = "retention_interval = \"1s\""
        cluster.volumeExtras["v"] = "[volume.retention]\nkeep_last = 2"
        let source = cluster.volumePath("v", on: "d0")
        try TreeGenerator(seed: 31).build(at: source)
        try cluster.start("d0")
        try cluster.start("d1")
        var ids: [String] = []
        var rng = SplitMix64(seed: 7)
        for index in 0..<5 {
            try Data(rng.bytes(100_000 + index)).write(to: URL(fileURLWithPath: "\(source)/changing.bin"))
            ids.append(try cluster.snapshot())
            _ = try cluster.replicate()
        }
        try cluster.waitForStandby("d1", snapshot: ids[4])
        let count = { (node: String) in (try? cluster.volumeStatus(node)["snapshots"] as? Int) ?? -1 }
        try waitUntil(timeout: 30) { count("d0") == 2 && count("d1") == 2 }
        for node in ["d0", "d1"] {
            let listed = try cluster.workspace.barge("snapshots", "v", "--json", "--state-dir", cluster.stateDirectory(node)).array()
            #expect(listed.compactMap { $0["id"] as? String } == Array(ids.suffix(2)), "\(node) keeps the newest two")
            #expect(try cluster.workspace.barge("verify", "--read-data", "--state-dir", cluster.stateDirectory(node)).status == 0)
        }
        let metrics = try cluster.httpGet("d1", "/metrics")
        #expect(metrics.contains("barge_snapshots_forgotten_total{volume=\"v\"} 3"), "\(metrics.suffix(1500))")

        // A dry run through the agent says why each is kept and changes nothing.
        let dry = try cluster.ok("d0", "forget", "v", "--keep-last", "1", "--dry-run", "--json").object()
        #expect(dry["dry_run"] as? Bool == true && (dry["forgotten"] as? [String]) == [ids[3]])
        let verdicts = try #require(dry["verdicts"] as? [[String: Any]])
        let newest = try #require(verdicts.first { $0["id"] as? String == ids[4] })
        let rules = (newest["reasons"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
        #expect(rules == ["newest", "last"])
        #expect(count("d0") == 2)
        let text = try cluster.ok("d0", "forget", "v", "--keep-last", "1", "--dry-run").out
        #expect(text.contains("forget \(ids[3].prefix(12))") && text.contains("nothing changed"), "\(text)")

        // The snapshot the replica's standby copy equals cannot be forgotten, even by name.
        let refused = try cluster.run("d1", "forget", "v", "--snapshot", ids[4])
        #expect(refused.status != 0 && refused.stderr.contains("the standby copy equals it"), "\(refused)")
        #expect(count("d1") == 2)

        // By name on the owner, through its agent: gone at once.
        _ = try cluster.ok("d0", "forget", "v", "--snapshot", ids[3])
        #expect(count("d0") == 1)
        // The configured policy, on demand.
        let policy = try cluster.ok("d1", "forget", "v", "--policy", "--dry-run", "--json").object()
        #expect((policy["policy"] as? [String: Any])?["last"] as? Int == 2)
    }
}
