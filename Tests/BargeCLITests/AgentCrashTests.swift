import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL of an agent in the middle of snapshots that found a large file's chunks
/// again by their fingerprints (kept in the agent's memory only, see
/// ChunkFingerprints). Whatever the moment: the store verifies, the newest
/// committed snapshot restores to what the volume held when it was taken, and the
/// restarted agent, its fingerprints gone, reads the changed file whole, and that
/// snapshot restores exact too.
@Suite(.serialized) struct AgentCrashTests {
    @Test func killedAgentMidFingerprintedSnapshotKeepsTheLastCommitted() throws {
        let p = try #require(CrashParameters.file)
        let cluster = try AgentCluster("crash-fingerprints", nodes: ["d0"], volumes: [.init(name: "v", owner: "d0", replicas: [])])
        defer { cluster.stop("d0", signal: SIGKILL) }
        let volume = cluster.volumePath("v", on: "d0")
        let file = volume + "/db.bin"
        var rng = SplitMix64(seed: p.seed + 30)
        try Data(rng.bytes(p.fingerprintFileSize)).write(to: URL(fileURLWithPath: file))
        try cluster.start("d0")
        var known: [String: Manifest] = [:]
        known[try cluster.snapshot()] = try Manifest.capture(volume)

        // One uninterrupted round: the fingerprints are used, and its duration spreads the kills.
        try rewritePages(file, &rng)
        let started = monotonicSeconds()
        let timed = try cluster.ok("d0", "snapshot", "v", "--json").object()
        let typical = monotonicSeconds() - started
        let foundAgain = timed["chunks_found_again"] as? Int ?? 0
        #expect(foundAgain > 0, "the agent's second snapshot of the file used its fingerprints: \(timed)")
        known[try #require(timed["id"] as? String)] = try Manifest.capture(volume)

        var delays = SplitMix64(seed: p.seed + 31)
        var lastWhole = ""
        for round in 0..<p.fingerprintKills {
            try rewritePages(file, &rng)
            let state = try Manifest.capture(volume)
            // Past the end too: a kill after the commit, before or after the answer.
            let delay = Double(delays.below(1_000_000)) / 1_000_000 * typical * 1.3
            let client = try cluster.startRun("d0", "snapshot", "v", "--json")
            usleep(UInt32(delay * 1_000_000))
            cluster.stop("d0", signal: SIGKILL)
            let answer = client.wait()
            let context = String(format: "round %d, agent killed %.3f s into a %.3f s snapshot (%@)", round, delay, typical,
                                 answer.status == 0 ? "it had answered" : "no answer")

            let verify = try cluster.workspace.barge("verify", "--read-data", "--state-dir", cluster.stateDirectory("d0"))
            #expect(verify.status == 0, "\(context): \(verify)")
            let list = try cluster.workspace.barge("snapshots", "v", "--json", "--state-dir", cluster.stateDirectory("d0")).array()
            let newest = try #require(list.max { ($0["time_ns"] as? Int64 ?? 0) < ($1["time_ns"] as? Int64 ?? 0) }?["id"] as? String)
            if answer.status == 0 {
                #expect(try answer.object()["id"] as? String == newest, "\(context): the snapshot it answered with is committed")
            }
            // Either the snapshot before, or this round's, committed before the kill.
            let expected = known[newest] ?? state
            known[newest] = expected
            let target = cluster.workspace.path("r\(round)")
            try cluster.workspace.ok("restore", "v", "--snapshot", newest, "--target", target, "--state-dir", cluster.stateDirectory("d0"))
            try expectSameTree(expected, target, "\(context): the newest snapshot")
            try? RawFS.removeTree(target)
            // Restarted, the agent has no fingerprints: one whole read of the changed file
            // remembers them for the next round.
            try cluster.start("d0")
            try rewritePages(file, &rng)
            let whole = try cluster.ok("d0", "snapshot", "v", "--json").object()
            #expect(whole["chunks_found_again"] as? Int == 0 && whole["bytes_read"] as? Int == p.fingerprintFileSize,
                    "\(context): a restarted agent reads the file whole: \(whole)")
            lastWhole = try #require(whole["id"] as? String)
            known[lastWhole] = try Manifest.capture(volume)
        }

        // The last whole read after a restart holds the volume as it is.
        cluster.stop("d0")
        let target = cluster.workspace.path("final")
        try cluster.workspace.ok("restore", "v", "--snapshot", lastWhole, "--target", target, "--state-dir", cluster.stateDirectory("d0"))
        try expectSameTree(try Manifest.capture(volume), target, "the snapshot after the last restart")
        try cluster.expectVerified("d0", "after the last snapshot")
    }

    /// Rewrites 32 random 4 KiB pages in place, as a database does: a few chunks change.
    private func rewritePages(_ path: String, _ rng: inout SplitMix64) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        let pages = Int(try handle.seekToEnd()) / 4096
        for _ in 0..<32 {
            try handle.seek(toOffset: UInt64(rng.below(pages) * 4096))
            try handle.write(contentsOf: Data(rng.bytes(4096)))
        }
    }
}
