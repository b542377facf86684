import Foundation
import Synchronization
import Testing
import TestSupport

/// gc on running agents: through the agent, in a loop on every node while the
/// owner snapshots and replicates to two replicas (their receptions and
/// standby updates run meanwhile), and by itself after retention forgot.
@Suite struct AgentGCTests {
    @Test func gcBesideSnapshotsReplicationAndStandbysOnEveryNode() throws {
        let cluster = try AgentCluster("agent-gc", nodes: ["d0", "d1", "d2"],
                                       volumes: [.init(name: "v", owner: "d0", replicas: ["d1", "d2"])])
        cluster.nodeExtras = "retention_interval = \"1s\""
        cluster.volumeExtras["v"] = "[volume.retention]\nkeep_last = 3"
        let source = cluster.volumePath("v", on: "d0")
        try TreeGenerator(seed: 41).build(at: source)
        for node in cluster.nodes { try cluster.start(node) }

        let loop = GCLoop(cluster)
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            loop.run()
            finished.signal()
        }
        var steps: [String: Int] = [:]
        var last = ""
        for step in 0..<8 {
            try Self.write(step, into: source)
            last = try cluster.snapshot()
            steps[last] = step
            _ = try cluster.replicate()
        }
        loop.stop.store(true, ordering: .sequentiallyConsistent)
        finished.wait()
        #expect(loop.failures.withLock { $0 } == [])
        #expect(loop.runs.load(ordering: .relaxed) >= 6, "gc ran on every node while the work went on")
        for node in ["d1", "d2"] { try cluster.waitForStandby(node, snapshot: last) }

        // Retention on the replicas forgot, so their agents collected by themselves.
        let metrics = try cluster.httpGet("d1", "/metrics")
        #expect(metrics.contains("barge_gc_runs_total"), "\(metrics.suffix(1500))")
        // Retention's own gc may be running on d0 (the one refusal allowed, as in the loop): retried as its hint says.
        var gc = try cluster.run("d0", "gc", "--json")
        for _ in 0..<50 where gc.status != 0 && gc.stderr.contains("gc is already running") {
            Thread.sleep(forTimeInterval: 0.2)
            gc = try cluster.run("d0", "gc", "--json")
        }
        try #require(gc.status == 0, "\(gc)")
        let report = try gc.object()
        #expect(report["bytes_reclaimed"] is Int && report["packs_skipped"] is Int, "\(report)")
        // The agents stop before the check: their retention would forget snapshots between the listing and the restore.
        for node in cluster.nodes { _ = cluster.stop(node) }
        for node in cluster.nodes {
            let state = cluster.stateDirectory(node)
            let verify = try cluster.workspace.barge("verify", "--read-data", "--state-dir", state)
            #expect(verify.status == 0, "\(node): \(verify)")
            let listed = try cluster.workspace.barge("snapshots", "v", "--json", "--state-dir", state).array().compactMap { $0["id"] as? String }
            #expect(listed.contains(last), "\(node) has the newest snapshot")
            for id in listed {
                let step = try #require(steps[id])
                let target = cluster.workspace.path("restored-\(node)-\(id.prefix(8))")
                _ = try cluster.workspace.ok("restore", "v", "--snapshot", id, "--target", target, "--state-dir", state)
                for (name, bytes) in Self.files(step) {
                    #expect(FileManager.default.contents(atPath: target + "/" + name) == Data(bytes), "\(node) \(id.prefix(8)) step \(step): \(name)")
                }
            }
        }
    }

    /// Content that recurs every three steps: what one forget leaves dead, a later snapshot or reception reuses.
    static func files(_ step: Int) -> [String: [UInt8]] {
        var a = SplitMix64(seed: UInt64(step % 3) + 500)
        var b = SplitMix64(seed: UInt64(step % 2) + 600)
        return ["churn/a.bin": a.bytes(1_500_000), "churn/b.bin": b.bytes(600_000), "step.txt": Array("step \(step)".utf8)]
    }

    static func write(_ step: Int, into root: String) throws {
        for (name, bytes) in files(step) {
            let url = URL(fileURLWithPath: root + "/" + name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
    }
}

/// `barge gc` through each agent in turn until told to stop.
private final class GCLoop: @unchecked Sendable {
    let cluster: AgentCluster
    let stop = Atomic<Bool>(false)
    let runs = Atomic<Int>(0)
    let failures = Mutex<[String]>([])

    init(_ cluster: AgentCluster) { self.cluster = cluster }

    func run() {
        var index = 0
        while !stop.load(ordering: .sequentiallyConsistent) || runs.load(ordering: .relaxed) < 6 {
            let node = cluster.nodes[index % cluster.nodes.count]
            index += 1
            do {
                let result = try cluster.run(node, "gc", "--json")
                // Retention's own gc may be running on that node: the one refusal allowed.
                if result.status != 0 && !result.stderr.contains("gc is already running") {
                    failures.withLock { $0.append("\(node): \(result)") }
                }
                runs.add(1, ordering: .relaxed)
            } catch {
                failures.withLock { $0.append("\(node): \(error)") }
                return
            }
        }
    }
}
