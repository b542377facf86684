import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// testdata/cli/changes.json
struct Changes: Codable {
    struct Op: Codable {
        let op: String
        let path: String
        var size: Int?
        var seed: UInt64?
        var mode: String?
    }
    struct Expected: Codable {
        let added: [String]
        let removed: [String]
        let modified: [String]
    }
    let ops: [Op]
    let expected: Expected

    static let file: Changes? = TestData.load("changes.json")

    func apply(to root: String) throws {
        for op in ops {
            let path = RawFS.bytes(root + "/" + op.path)
            switch op.op {
            case "write":
                var rng = SplitMix64(seed: op.seed ?? 0)
                try RawFS.write(path, rng.bytes(op.size ?? 0))
            case "mkdir": try RawFS.mkdir(path)
            case "delete": try RawFS.removeTree(root + "/" + op.path)
            case "chmod": try RawFS.chmod(path, mode_t(op.mode.flatMap { UInt32($0, radix: 8) } ?? 0o644))
            default: Issue.record("unknown op \(op.op)")
            }
        }
    }
}

/// A volume snapshotted twice: the generated tree, then the same tree with
/// the changes of changes.json. Keeps both states as manifests.
final class TwoStates {
    let workspace: Workspace
    let volume: String
    let first: [String: Any], second: [String: Any]
    let id1: String, id2: String
    let state1: Manifest, state2: Manifest
    let changes: Changes

    init(_ label: String, seed: UInt64 = 1) throws {
        workspace = try Workspace(label)
        volume = try workspace.initStore()
        try TreeGenerator(seed: seed).build(at: volume)
        state1 = try Manifest.capture(volume)
        first = try workspace.snapshot()
        changes = try #require(Changes.file, "testdata/cli/changes.json")
        try changes.apply(to: volume)
        state2 = try Manifest.capture(volume)
        second = try workspace.snapshot()
        id1 = try #require(first["id"] as? String)
        id2 = try #require(second["id"] as? String)
    }
}

@Suite struct RoundTripTests {
    @Test func vectorsLoad() {
        #expect(Changes.file != nil, "testdata/cli/changes.json loads")
    }

    @Test func snapshotRestoreAndDiffAreExact() throws {
        let fixture = try TwoStates("roundtrip")
        let ws = fixture.workspace

        // snapshot --json reports what the tree holds.
        let s1 = fixture.first, files = fixture.state1.files
        #expect(fixture.id1.count == 64 && fixture.id1.allSatisfy(\.isHexDigit))
        #expect(s1["volume"] as? String == "v")
        #expect(s1["parent"] is NSNull)
        #expect(s1["files"] as? Int == files.count)
        #expect(s1["dirs"] as? Int == fixture.state1.directories.count)
        let total = files.values.reduce(0) { $0 + Int($1.size) }
        var distinct: [UInt64: Int] = [:]
        for entry in files.values { distinct[entry.inode] = Int(entry.size) }
        #expect(s1["bytes_total"] as? Int == total, "every name of a file counts")
        #expect(s1["bytes_read"] as? Int == distinct.values.reduce(0, +), "each inode is read once")
        let added = try #require(s1["bytes_added"] as? Int)
        #expect(added > 0 && added < total, "compression and dedup store less than the total (\(added) of \(total))")
        #expect((s1["chunks_added"] as? Int ?? 0) > 0)
        #expect((s1["duration_s"] as? Double ?? -1) >= 0)
        #expect((s1["skipped"] as? [Any])?.isEmpty == true, "\(s1)")

        // The second snapshot names its parent and reads only what changed.
        let s2 = fixture.second
        #expect(s2["parent"] as? String == fixture.id1)
        var changed: [UInt64: Int] = [:]
        for op in fixture.changes.ops where op.op == "write" || op.op == "chmod" {
            let entry = try #require(fixture.state2.entries[RawFS.bytes(op.path)])
            changed[entry.inode] = Int(entry.size)
        }
        #expect(s2["bytes_read"] as? Int == changed.values.reduce(0, +), "unchanged files are not read again")

        // diff --json lists exactly the changed paths.
        let diff = try ws.ok("diff", "v", "--json").object()
        let expected = fixture.changes.expected
        #expect((diff["added"] as? [String])?.sorted() == expected.added.sorted())
        #expect((diff["removed"] as? [String])?.sorted() == expected.removed.sorted())
        #expect((diff["modified"] as? [String])?.sorted() == expected.modified.sorted())
        let explicit = try ws.ok("diff", "v", String(fixture.id1.prefix(8)), fixture.id2, "--json").object()
        #expect((explicit["modified"] as? [String])?.sorted() == expected.modified.sorted())
        let plain = try ws.ok("diff", "v").out.split(separator: "\n").map(String.init)
        #expect(plain.contains("+ docs/new.txt") && plain.contains("- data/rand-0.bin") && plain.contains("M docs/readme.txt"), "\(plain)")

        // Each snapshot restores to exactly the state it was taken from.
        let restore1 = try ws.ok("restore", "v", "--snapshot", String(fixture.id1.prefix(10)), "--target", ws.path("r1"), "--json").object()
        try expectSameTree(fixture.state1, ws.path("r1"), "snapshot 1")
        #expect(restore1["snapshot"] as? String == fixture.id1)
        #expect(restore1["target"] as? String == ws.path("r1"))
        #expect((restore1["files"] as? Int ?? 0) + (restore1["hard_links"] as? Int ?? 0) == files.count)
        #expect(restore1["dirs"] as? Int == fixture.state1.directories.count)
        #expect((restore1["bytes_written"] as? Int ?? 0) > 0)
        try ws.ok("restore", "v", "--target", ws.path("r2"))
        try expectSameTree(fixture.state2, ws.path("r2"), "snapshot 2 (latest)")
        try ws.ok("restore", "v", "--snapshot", fixture.id2, "--target", ws.path("r2-by-id"))
        try expectSameTree(fixture.state2, ws.path("r2-by-id"), "snapshot 2 by id")

        // An empty existing directory is an acceptable target.
        try FileManager.default.createDirectory(atPath: ws.path("empty-target"), withIntermediateDirectories: false)
        try ws.ok("restore", "v", "--snapshot", fixture.id1, "--target", ws.path("empty-target"))
        try expectSameTree(fixture.state1, ws.path("empty-target"), "snapshot 1 into an empty directory")
        #expect(ws.list(ws.root).filter { $0.hasPrefix(".barge") }.isEmpty, "no staging directory remains")
    }

    @Test func restorePathOfADirectoryAndOfAFile() throws {
        let fixture = try TwoStates("subpath")
        let ws = fixture.workspace
        try ws.ok("restore", "v", "--snapshot", fixture.id1, "--path", "nested/a", "--target", ws.path("dir"))
        try expectSameTree(fixture.state1.subtree("nested/a"), ws.path("dir"), "--path nested/a of snapshot 1")
        try ws.ok("restore", "v", "--snapshot", fixture.id1, "--path", "/nested/a/b/", "--target", ws.path("dir2"))
        try expectSameTree(fixture.state1.subtree("nested/a/b"), ws.path("dir2"), "--path /nested/a/b/")

        try ws.ok("restore", "v", "--snapshot", fixture.id1, "--path", "docs/readme.txt", "--target", ws.path("file"))
        #expect(ws.list(ws.path("file")) == ["readme.txt"], "a file is placed inside the target")
        let restored = try Manifest.capture(ws.path("file")).entries[RawFS.bytes("readme.txt")]
        #expect(restored == fixture.state1.entries[RawFS.bytes("docs/readme.txt")], "the file and its metadata as in snapshot 1")
        #expect(restored != fixture.state2.entries[RawFS.bytes("docs/readme.txt")], "not the changed version")

        try ws.ok("restore", "v", "--path", "sparse.img", "--target", ws.path("sparse"))
        let sparse = try #require(try Manifest.capture(ws.path("sparse")).entries[RawFS.bytes("sparse.img")])
        #expect(sparse == fixture.state2.entries[RawFS.bytes("sparse.img")])
        #expect(sparse.allocated < sparse.size, "holes stay holes: \(sparse.allocated) of \(sparse.size) bytes allocated")
    }

    /// A restore keeps a batch's files open until their chunks are written, up to a
    /// quarter of its descriptor limit: under a low limit it holds fewer at once
    /// instead of failing with "too many open files", and the files come back exact.
    @Test func manySmallFilesRestoreUnderALowDescriptorLimit() throws {
        let ws = try Workspace("low-nofile")
        let volume = try ws.initStore()
        try TreeGenerator.bulk(at: volume + "/bulk", count: 3000, size: 2048, seed: 77)
        try ws.ok("snapshot", "v")
        let expected = try Manifest.capture(volume)
        let run = try ws.barge(["restore", "v", "--target", ws.path("out")], wrapper: ["/usr/bin/prlimit", "--nofile=128:128", "--"])
        #expect(run.status == 0, "\(run)")
        try expectSameTree(expected, ws.path("out"), "3,000 files restored with 128 descriptors")

        // Below what a restore needs, it fails, says what to do, and leaves no target.
        let starved = try ws.barge(["restore", "v", "--target", ws.path("starved")], wrapper: ["/usr/bin/prlimit", "--nofile=40:40", "--"])
        #expect(starved.status != 0 && starved.stderr.contains("Too many open files") && starved.stderr.contains("ulimit -n"), "\(starved)")
        #expect(RawFS.lstat(RawFS.bytes(ws.path("starved"))) == nil, "no half-restored target")
        #expect(!ws.list(ws.root).contains { $0.hasPrefix(".barge-restore-starved") }, "no staging left: \(ws.list(ws.root))")
    }

    @Test func restoreAtATimeBetweenSnapshotsPicksTheFirst() throws {
        let fixture = try TwoStates("at")
        let ws = fixture.workspace
        let rows = try ws.sql("SELECT lower(hex(id)), time_ns FROM snapshot ORDER BY time_ns")
        let times = Dictionary(uniqueKeysWithValues: rows.map { ($0[0], Int64($0[1]) ?? 0) })
        let t1 = try #require(times[fixture.id1]), t2 = try #require(times[fixture.id2])
        try #require(t2 - t1 > 2_000_000, "the snapshots are more than 2 ms apart (\(t2 - t1) ns), so a time between them exists")
        let between = isoTime(nanoseconds: t1 + (t2 - t1) / 2)
        let run = try ws.ok("restore", "v", "--at", between, "--target", ws.path("between"), "--json").object()
        #expect(run["snapshot"] as? String == fixture.id1, "--at \(between) picks snapshot 1")
        try expectSameTree(fixture.state1, ws.path("between"), "--at between the snapshots")

        let later = try ws.ok("restore", "v", "--at", "2999-01-01T00:00:00Z", "--target", ws.path("later"), "--json").object()
        #expect(later["snapshot"] as? String == fixture.id2, "a time after both picks the newest")
    }

    @Test func restoreIntoANonEmptyTargetFailsAndChangesNothing() throws {
        let fixture = try TwoStates("busy")
        let ws = fixture.workspace
        let target = ws.path("parent/busy")
        try FileManager.default.createDirectory(atPath: target + "/sub", withIntermediateDirectories: true)
        try RawFS.write(RawFS.bytes(target + "/keep.txt"), RawFS.bytes("mine"))
        let before = try Manifest.capture(ws.path("parent"))
        let run = try ws.barge("restore", "v", "--target", target)
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("not empty"), "\(run)")
        try expectSameTree(before, ws.path("parent"), "the busy target and its parent")

        let inPlaceTarget = try ws.barge("restore", "v", "--path", "docs", "--target", target, "--json")
        #expect(inPlaceTarget.status == 1 && inPlaceTarget.stdout.isEmpty, "\(inPlaceTarget)")
        try expectSameTree(before, ws.path("parent"), "the busy target after a --path restore")
    }

    @Test func inPlaceRestoreKeepsThePresentAsAPreRestoreSnapshot() throws {
        let fixture = try TwoStates("inplace")
        let ws = fixture.workspace
        let before = Set(ws.list(ws.root))
        let run = try ws.ok("restore", "v", "--snapshot", fixture.id1, "--in-place", "--json").object()
        #expect(run["snapshot"] as? String == fixture.id1)
        let safety = try #require(run["safety_snapshot"] as? String, "\(run)")
        try expectSameTree(fixture.state1, fixture.volume, "the volume after an in-place restore of snapshot 1")
        #expect(Set(ws.list(ws.root)).subtracting(before).isEmpty, "no staging directory remains beside the volume")

        let list = try ws.ok("snapshots", "v", "--json").array()
        #expect(list.map { $0["id"] as? String } == [fixture.id1, fixture.id2, safety])
        #expect(list.map { $0["state"] as? String } == ["complete", "complete", "pre-restore"])
        #expect(list.last?["parent"] as? String == fixture.id2)
        try ws.ok("restore", "v", "--snapshot", safety, "--target", ws.path("saved"))
        try expectSameTree(fixture.state2, ws.path("saved"), "the pre-restore snapshot")

        // In place, one file: only that file changes.
        try ws.ok("restore", "v", "--snapshot", fixture.id2, "--path", "docs/readme.txt", "--in-place")
        var expected = fixture.state1
        let readme = RawFS.bytes("docs/readme.txt")
        expected.entries[readme] = fixture.state2.entries[readme]
        let docs = try Manifest.capture(fixture.volume)
        #expect(docs.entries[readme] == expected.entries[readme])
        let others = expected.differences(to: docs).filter { !$0.hasPrefix("docs:") && !$0.hasPrefix("docs/readme.txt:") }
        #expect(others.isEmpty, "\(others)")
    }
}
