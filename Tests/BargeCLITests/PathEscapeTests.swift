import Foundation
import Repository
import Snapshots
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One crafted tree of testdata/cli/malicious-trees.json.
struct MaliciousTree: Codable, Sendable, CustomTestStringConvertible {
    struct Node: Codable, Sendable {
        var name: String?
        var hex: String?
        let kind: String
        var content: String?
        var target: String?
        var children: [Node]?
    }
    let name: String
    var accepted: Bool?
    let entries: [Node]
    var testDescription: String { name }

    struct File: Codable { let cases: [MaliciousTree] }
    static let all: [MaliciousTree] = TestData.load("malicious-trees.json", as: File.self)?.cases ?? []
}

/// Writes crafted trees straight into a store, bypassing the scanner, as a
/// damaged pack or a hostile peer could.
struct Crafter {
    let writer: BlobWriter
    let compressor = Compressor()
    let canary: String

    private func bytes(_ node: MaliciousTree.Node) -> [UInt8] {
        if let hex = node.hex {
            return stride(from: 0, to: hex.count, by: 2).map {
                let start = hex.index(hex.startIndex, offsetBy: $0)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16) ?? 0
            }
        }
        return Array((node.name ?? "").replacingOccurrences(of: "{canary}", with: canary).utf8)
    }

    private func put(_ raw: [UInt8], _ kind: BlobKind) throws -> BlobID {
        let id = BlobID.of(kind, raw)
        if try writer.known([id]).isEmpty { try writer.append(id: id, kind: kind, raw: raw, compressor: compressor) }
        return id
    }

    /// Stores the nodes as one tree, in the given order, and returns its id.
    func tree(_ nodes: [MaliciousTree.Node]) throws -> BlobID {
        var entries: [TreeEntry] = []
        for node in nodes {
            let name = bytes(node)
            switch node.kind {
            case "file":
                let content = Array((node.content ?? "").utf8)
                let chunks = content.isEmpty ? [] : [ChunkRef(id: try put(content, .chunk), length: content.count)]
                entries.append(TreeEntry(name: name, kind: .file, mode: 0o644, mtimeNanoseconds: 1_000_000_000,
                                         size: UInt64(content.count), chunks: chunks))
            case "dir":
                entries.append(TreeEntry(name: name, kind: .directory, mode: 0o755, mtimeNanoseconds: 1_000_000_000,
                                         subtree: try tree(node.children ?? [])))
            default:
                let target = (node.target ?? "").replacingOccurrences(of: "{canary}", with: canary)
                entries.append(TreeEntry(name: name, kind: .symlink, mode: 0o777, symlinkTarget: Array(target.utf8)))
            }
        }
        return try put(Tree(entries: entries).encoded(), .tree)
    }
}

/// A store with one honest snapshot of a small volume, and a canary
/// directory outside both volume and restore targets.
final class EscapeFixture {
    let ws: Workspace
    let volume: String
    let canary: String
    let honest: String

    init(_ label: String) throws {
        ws = try Workspace(label)
        volume = try ws.initStore()
        try RawFS.write(RawFS.bytes(volume + "/hello.txt"), RawFS.bytes("hello"))
        honest = try #require(try ws.snapshot()["id"] as? String)
        canary = ws.path("canary")
        try RawFS.mkdir(RawFS.bytes(canary))
        try RawFS.write(RawFS.bytes(canary + "/precious"), RawFS.bytes("precious"))
        try RawFS.mkdir(RawFS.bytes(ws.path("restores")))
    }

    /// Commits a snapshot of volume v whose root is the crafted tree; the root
    /// directory's metadata is copied from the honest snapshot. It is dated
    /// just before the honest one, so the honest one stays the parent of the
    /// pre-restore snapshot that `--in-place` takes.
    func craft(_ nodes: [MaliciousTree.Node]) throws -> String {
        let store = try Store(at: ws.state, access: .write)
        let writer = BlobWriter(store: store)
        let root = try Crafter(writer: writer, canary: canary).tree(nodes)
        let model = try #require(try store.snapshots(volume: "v").last)
        let record = SnapshotRecord(
            volume: "v", volumePath: volume, chunkAverage: model.record.chunkAverage, parent: nil, root: root,
            rootMetadata: model.record.rootMetadata, timeNanoseconds: model.record.timeNanoseconds - 1_000_000, epoch: 0,
            origin: "crafted", state: "complete", files: 1, directories: 0, bytesTotal: 0, bytesAdded: 0, skipped: 0)
        return try writer.commit(record, compressor: Compressor()).hex
    }

    /// Paths named "pwned" anywhere in the workspace (the state dir aside).
    func pwned() throws -> [String] {
        try RawFS.walk(RawFS.bytes(ws.root)).map { String(decoding: $0, as: UTF8.self) }
            .filter { !$0.hasPrefix("state/") && $0.hasSuffix("pwned") }
    }
}

@Suite struct PathEscapeTests {
    @Test func vectorsLoad() {
        #expect(MaliciousTree.all.count >= 10, "testdata/cli/malicious-trees.json loads")
    }

    @Test(arguments: MaliciousTree.all)
    func craftedTreeIsRefusedAndWritesNothingOutside(_ crafted: MaliciousTree) throws {
        let fixture = try EscapeFixture("escape")
        let ws = fixture.ws
        let id = try fixture.craft(crafted.entries)
        let canaryBefore = try Manifest.capture(fixture.canary)
        let volumeBefore = try Manifest.capture(fixture.volume)
        let target = ws.path("restores/target")

        let run = try ws.barge("restore", "v", "--snapshot", id, "--target", target)
        if crafted.accepted == true {
            #expect(run.status == 0, "the control tree restores: \(run)")
            #expect(ws.list(target) == ["a", "d", "s"])
            #expect(try String(contentsOfFile: target + "/d/inner", encoding: .utf8) == "beta")
        } else {
            #expect(run.status == 1, "\(run)")
            #expect(run.stderr.contains("tree"), "the error names the tree problem: \(run)")
            #expect(!ws.exists(target), "no target after a refused restore")
            #expect(ws.list(ws.path("restores")).isEmpty, "nothing, not even a staging directory, beside the target")

            let inPlace = try ws.barge("restore", "v", "--snapshot", id, "--in-place")
            #expect(inPlace.status == 1, "\(inPlace)")
            try expectSameTree(volumeBefore, fixture.volume, "the volume after a refused in-place restore")
            #expect(ws.list(ws.root).filter { $0.hasPrefix(".barge") }.isEmpty, "no staging directory beside the volume")
            let verify = try ws.barge("verify", "--json")
            #expect(verify.status == 1, "verify names the crafted tree as damage: \(verify)")
        }
        try expectSameTree(canaryBefore, fixture.canary, "the canary directory")
        let pwned = try fixture.pwned()
        #expect(pwned.isEmpty, "no pwned file anywhere: \(pwned)")
        try ws.ok("restore", "v", "--snapshot", fixture.honest, "--target", ws.path("restores/honest"))
        #expect(ws.list(ws.path("restores/honest")) == ["hello.txt"], "the honest snapshot still restores")
    }

    @Test func restorePathThroughASnapshotSymlinkIsRefused() throws {
        let ws = try Workspace("symlink-path")
        let volume = try ws.initStore()
        try RawFS.mkdir(RawFS.bytes(volume + "/real"))
        try RawFS.write(RawFS.bytes(volume + "/real/file"), RawFS.bytes("data"))
        let outside = ws.path("outside")
        try RawFS.mkdir(RawFS.bytes(outside))
        try RawFS.write(RawFS.bytes(outside + "/file"), RawFS.bytes("outside"))
        try RawFS.symlink(RawFS.bytes("real"), at: RawFS.bytes(volume + "/rel"))
        try RawFS.symlink(RawFS.bytes(outside), at: RawFS.bytes(volume + "/abs"))
        _ = try ws.snapshot()
        for path in ["rel/file", "abs/file"] {
            let target = ws.path("t-" + path.replacingOccurrences(of: "/", with: "-"))
            let run = try ws.barge("restore", "v", "--path", path, "--target", target)
            #expect(run.status == 1 && run.stderr.contains("not a directory"), "\(path): \(run)")
            #expect(!ws.exists(target))
        }
        // The symlink itself restores as a symlink, not as what it points to.
        try ws.ok("restore", "v", "--path", "abs", "--target", ws.path("t-abs"))
        let link = try #require(try Manifest.capture(ws.path("t-abs")).entries[RawFS.bytes("abs")])
        #expect(link.type == S_IFLNK && link.target == RawFS.bytes(outside))
        #expect(try String(contentsOfFile: outside + "/file", encoding: .utf8) == "outside")
    }

    /// Between the snapshot and an in-place restore, whoever writes the volume
    /// (a container) can replace a directory with a symlink to somewhere else.
    /// Restoring a path below it must not follow that symlink out of the volume.
    @Test(arguments: ["d/x", "d"])
    func inPlaceRestoreDoesNotFollowASymlinkPlantedInTheVolume(_ subpath: String) throws {
        let ws = try Workspace("planted")
        let volume = try ws.initStore()
        try RawFS.mkdir(RawFS.bytes(volume + "/d"))
        try RawFS.write(RawFS.bytes(volume + "/d/x"), RawFS.bytes("restored content"))
        try RawFS.write(RawFS.bytes(volume + "/d/y"), RawFS.bytes("y"))
        let id = try #require(try ws.snapshot()["id"] as? String)

        let canary = ws.path("canary")
        try RawFS.mkdir(RawFS.bytes(canary))
        try RawFS.write(RawFS.bytes(canary + "/x"), RawFS.bytes("precious, outside the volume"))
        try RawFS.write(RawFS.bytes(canary + "/other"), RawFS.bytes("also outside"))
        let canaryBefore = try Manifest.capture(canary)
        try RawFS.removeTree(volume + "/d")
        try RawFS.symlink(RawFS.bytes(canary), at: RawFS.bytes(volume + "/d"))

        let run = try ws.barge("restore", "v", "--snapshot", id, "--path", subpath, "--in-place")
        try expectSameTree(canaryBefore, canary, "the directory the planted symlink points to (\(run))")
        if run.status == 0 {
            let d = try #require(RawFS.lstat(RawFS.bytes(volume + "/d")))
            #expect(d.st_mode & S_IFMT == S_IFDIR, "the restore replaced the symlink with the snapshot's directory")
            #expect(try String(contentsOfFile: volume + "/d/x", encoding: .utf8) == "restored content")
        } else {
            #expect(run.status == 1, "\(run)")
        }
    }
}
