import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// testdata/cli/crash.json
struct CrashParameters: Codable {
    let seed: UInt64
    let snapshotRounds: Int
    let killsPerRound: Int
    let lateKillFrom: Double
    let bulkFiles: Int
    let bulkFileSize: Int
    let restoreKills: Int
    let restoreBulkFiles: Int
    let restoreBulkFileSize: Int
    let smallFiles: Int
    let gcKills: Int
    let fingerprintFileSize: Int
    let fingerprintKills: Int

    static let file: CrashParameters? = TestData.load("crash.json")
}

/// SIGKILL at seeded random points of `snapshot` and `restore`: whatever the
/// moment, the store must verify, every committed snapshot must restore
/// byte-exact, and a restore target must be absent or complete.
@Suite(.serialized) struct CrashTests {
    @Test func vectorsLoad() {
        #expect(CrashParameters.file != nil, "testdata/cli/crash.json loads")
    }

    @Test func killedSnapshotsLeaveAConsistentStore() throws {
        let p = try #require(CrashParameters.file)
        let ws = try Workspace("crash-snapshot")
        let volume = try ws.initStore()
        try TreeGenerator(seed: p.seed, bigFile: 512 << 10, sparseSize: 4 << 20).build(at: volume)
        let state1 = try Manifest.capture(volume)
        let id1 = try #require(try ws.snapshot()["id"] as? String)

        // More new data than one checkpoint, and a few edits.
        try TreeGenerator.bulk(at: volume + "/bulk", count: p.bulkFiles, size: p.bulkFileSize, seed: p.seed + 1)
        var rng = SplitMix64(seed: p.seed + 2)
        try RawFS.write(RawFS.bytes(volume + "/docs/readme.txt"), rng.text(50_000))
        try RawFS.removeTree(volume + "/data/rand-1.bin")
        try RawFS.chmod(RawFS.bytes(volume + "/small.txt"), 0o640)
        let state2 = try Manifest.capture(volume)

        // The store as snapshot 1 left it: every round starts from here.
        let pristine = ws.path("pristine-state")
        try runTool(["/bin/cp", "-a", ws.state, pristine])
        let started = monotonicSeconds()
        try ws.ok("snapshot", "v")
        let typical = monotonicSeconds() - started // to spread the kills, never asserted

        var delays = SplitMix64(seed: p.seed)
        for round in 0..<p.snapshotRounds {
            try RawFS.removeTree(ws.state)
            try runTool(["/bin/cp", "-a", pristine, ws.state])
            // Kills in a row: each later snapshot starts on the debris of the one before.
            var story: [String] = []
            for kill in 0..<p.killsPerRound {
                let from = kill == 0 ? 0 : p.lateKillFrom
                let delay = (from + (1 - from) * Double(delays.below(1_000_000)) / 1_000_000) * typical
                let child = try ws.start(["snapshot", "v"])
                usleep(UInt32(delay * 1_000_000))
                child.kill()
                let run = child.wait()
                story.append(String(format: "killed after %.3f s of %.3f: %@", delay, typical, run.signal == nil ? "had finished" : "killed"))
                if run.signal == nil { #expect(run.status == 0, "round \(round): an uninterrupted snapshot: \(run)") }
                let verify = try ws.barge("verify", "--read-data", "--json")
                #expect(verify.status == 0, "round \(round), \(story): \(verify)")
            }
            let context = "round \(round) (\(story.joined(separator: "; ")))"

            let list = try ws.ok("snapshots", "v", "--json").array()
            #expect(list.first?["id"] as? String == id1, "\(context): snapshot 1 is still listed")
            #expect(list.allSatisfy { $0["state"] as? String == "complete" }, "\(context): \(list)")
            try ws.ok("restore", "v", "--snapshot", id1, "--target", ws.path("r\(round)-first"))
            try expectSameTree(state1, ws.path("r\(round)-first"), "\(context): snapshot 1")

            if round % 2 == 1 {
                // The index can also be rebuilt from whatever the kills left in the packs.
                for suffix in ["", "-wal", "-shm"] { try? RawFS.removeTree(ws.state + "/index.sqlite" + suffix) }
                try ws.ok("repair-index", "--json")
                let verify = try ws.barge("verify", "--read-data")
                #expect(verify.status == 0, "\(context), after repair-index: \(verify)")
                try ws.ok("restore", "v", "--snapshot", id1, "--target", ws.path("r\(round)-repaired"))
                try expectSameTree(state1, ws.path("r\(round)-repaired"), "\(context): snapshot 1 after repair-index")
            }

            let fresh = try ws.barge("snapshot", "v", "--json")
            try #require(fresh.status == 0, "\(context): a snapshot after the kills: \(fresh)")
            let freshID = try #require(try fresh.object()["id"] as? String)
            try ws.ok("restore", "v", "--snapshot", freshID, "--target", ws.path("r\(round)-fresh"))
            try expectSameTree(state2, ws.path("r\(round)-fresh"), "\(context): the snapshot taken after the kills")
            let verify = try ws.barge("verify", "--read-data")
            #expect(verify.status == 0, "\(context), after the fresh snapshot: \(verify)")
            for name in ["first", "repaired", "fresh"] { try? RawFS.removeTree(ws.path("r\(round)-\(name)")) }
        }
    }

    /// SIGKILL of gc at seeded points (mark, dropping trees, copying, the
    /// commit, the unlink): the kept snapshots always verify and restore, and
    /// the next gc finishes the job to the size an uninterrupted gc reaches.
    @Test func killedGCLeavesEverySnapshotIntact() throws {
        let p = try #require(CrashParameters.file)
        let ws = try Workspace("crash-gc")
        let volume = try ws.initStore()
        try TreeGenerator(seed: p.seed + 20, bigFile: 512 << 10, sparseSize: 4 << 20).build(at: volume)
        let state1 = try Manifest.capture(volume)
        let id1 = try #require(try ws.snapshot()["id"] as? String)
        try TreeGenerator.bulk(at: volume + "/bulk", count: p.bulkFiles, size: p.bulkFileSize, seed: p.seed + 21)
        let id2 = try #require(try ws.snapshot()["id"] as? String)
        for index in stride(from: 0, to: p.bulkFiles, by: 2) { try RawFS.removeTree(volume + "/bulk/bulk-\(index).bin") }
        try RawFS.removeTree(volume + "/docs")
        let state3 = try Manifest.capture(volume)
        let id3 = try #require(try ws.snapshot()["id"] as? String)
        try ws.ok("forget", "v", "--snapshot", id2)

        let pristine = ws.path("pristine-state")
        try runTool(["/bin/cp", "-a", ws.state, pristine])
        let started = monotonicSeconds()
        try ws.ok("gc")
        let typical = monotonicSeconds() - started // to spread the kills, never asserted
        let collected = try packBytes(ws.state)

        var delays = SplitMix64(seed: p.seed + 22)
        for round in 0..<p.gcKills {
            try RawFS.removeTree(ws.state)
            try runTool(["/bin/cp", "-a", pristine, ws.state])
            let delay = Double(delays.below(1_000_000)) / 1_000_000 * typical
            let child = try ws.start(["gc"])
            usleep(UInt32(delay * 1_000_000))
            child.kill()
            let run = child.wait()
            let context = String(format: "round %d, killed after %.3f s of %.3f (%@)", round, delay, typical,
                                 run.signal == nil ? "had finished" : "killed")
            if run.signal == nil { #expect(run.status == 0, "\(context): \(run)") }
            let verify = try ws.barge("verify", "--read-data")
            #expect(verify.status == 0, "\(context): \(verify)")
            for (id, state) in [(id1, state1), (id3, state3)] {
                let target = ws.path("r\(round)-\(id.prefix(6))")
                try ws.ok("restore", "v", "--snapshot", id, "--target", target)
                try expectSameTree(state, target, "\(context): snapshot \(id.prefix(12))")
                try RawFS.removeTree(target)
            }
            // The next gc finishes what the killed one started, and leaks nothing.
            try ws.ok("gc")
            #expect(try ws.barge("verify", "--read-data").status == 0, "\(context): after the next gc")
            let size = try packBytes(ws.state)
            #expect(size <= collected + collected / 10, "\(context): \(size) pack bytes after the next gc, \(collected) after an uninterrupted one")
        }
    }

    private func packBytes(_ state: String) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: state + "/packs").reduce(0) { total, name in
            total + ((try FileManager.default.attributesOfItem(atPath: state + "/packs/" + name)[.size] as? Int) ?? 0)
        }
    }

    @Test func killedRestoresLeaveNoHalfTarget() throws {
        let p = try #require(CrashParameters.file)
        let ws = try Workspace("crash-restore")
        let volume = try ws.initStore()
        try TreeGenerator(seed: p.seed + 10, bigFile: 1 << 20, sparseSize: 4 << 20).build(at: volume)
        try TreeGenerator.bulk(at: volume + "/bulk", count: p.restoreBulkFiles, size: p.restoreBulkFileSize, seed: p.seed + 11)
        var rng = SplitMix64(seed: p.seed + 12)
        try RawFS.mkdir(RawFS.bytes(volume + "/many"))
        for index in 0..<p.smallFiles {
            try RawFS.write(RawFS.bytes(volume + "/many/f\(index)"), rng.bytes(1 + rng.below(4000)))
        }
        let state = try Manifest.capture(volume)
        let id = try #require(try ws.snapshot()["id"] as? String)

        let parent = ws.path("restores")
        try RawFS.mkdir(RawFS.bytes(parent))
        let started = monotonicSeconds()
        try ws.ok("restore", "v", "--target", parent + "/measured")
        let typical = monotonicSeconds() - started // to spread the kills, never asserted
        try expectSameTree(state, parent + "/measured", "an uninterrupted restore")
        try RawFS.removeTree(parent + "/measured")

        var delays = SplitMix64(seed: p.seed + 13)
        var targets: Set<String> = []
        for round in 0..<p.restoreKills {
            let name = "t\(round)", target = parent + "/" + name
            targets.insert(name)
            // Odd rounds restore into an existing empty directory.
            if round % 2 == 1 { try RawFS.mkdir(RawFS.bytes(target)) }
            let delay = Double(delays.below(1_000_000)) / 1_000_000 * typical
            let child = try ws.start(["restore", "v", "--snapshot", id, "--target", target])
            usleep(UInt32(delay * 1_000_000))
            child.kill()
            let run = child.wait()
            let context = String(format: "round %d, killed after %.3f s of %.3f (%@)", round, delay, typical,
                                 run.signal == nil ? "had finished" : "killed")
            if run.signal == nil { #expect(run.status == 0, "\(context): \(run)") }

            if ws.exists(target) && !(round % 2 == 1 && ws.list(target).isEmpty) {
                try expectSameTree(state, target, "\(context): a target that exists is complete")
            }
            let strays = ws.list(parent).filter { !targets.contains($0) && !$0.hasPrefix(".barge-restore-") }
            #expect(strays.isEmpty, "\(context): only .barge-restore-* staging directories may remain: \(strays)")
            if ws.exists(target) { try RawFS.removeTree(target) }
        }

        // Leftover staging directories do not get in the way.
        try ws.ok("restore", "v", "--target", parent + "/after")
        try expectSameTree(state, parent + "/after", "a restore after the kills")
        let verify = try ws.barge("verify", "--read-data")
        #expect(verify.status == 0, "restores never write to the store: \(verify)")
    }
}
