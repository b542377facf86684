import Foundation
import Testing
import Repository
@testable import Snapshots

struct NameCase: Codable, Sendable, CustomTestStringConvertible {
    let name: String
    let hex: String
    var testDescription: String { name }
    var bytes: [UInt8] { [UInt8](hexString: hex) ?? [] }
}

enum NameVectors {
    struct File: Codable { let refused: [NameCase]; let accepted: [NameCase] }
    static let file: File? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try? JSONDecoder().decode(File.self, from: Data(contentsOf: root.appendingPathComponent("testdata/snapshots/entry-names.json")))
    }()
    static let refused = file?.refused ?? []
    static let accepted = file?.accepted ?? []
}

func sampleEntries() -> [TreeEntry] {
    let chunk = ChunkRef(id: BlobID.hash([1]), length: 100)
    return [
        TreeEntry(name: Array("a-file".utf8), kind: .file, mode: 0o4755, uid: 1000, gid: 100, mtimeNanoseconds: 1_700_000_000_123_456_789,
                  ctimeNanoseconds: 5, inode: 77, size: 200, linkGroup: 77, sparse: true,
                  xattrs: [ExtendedAttribute(name: Array("user.a".utf8), value: [0, 1, 2])], chunks: [chunk, chunk]),
        TreeEntry(name: Array("b-dir".utf8), kind: .directory, mode: 0o1777, mtimeNanoseconds: -5, subtree: BlobID.hash([2])),
        TreeEntry(name: Array("c-link".utf8), kind: .symlink, mode: 0o777, symlinkTarget: Array("../x".utf8)),
        TreeEntry(name: Array("d-dev".utf8), kind: .characterDevice, mode: 0o600, device: 0x0103),
        TreeEntry(name: [0x64, 0xff, 0x0a], kind: .fifo, mode: 0o644),
    ]
}

@Suite struct TreeTests {
    @Test func vectorsAreLoaded() {
        #expect(NameVectors.refused.count >= 8)
        #expect(NameVectors.accepted.count >= 5)
    }

    @Test func roundTrip() throws {
        let tree = Tree(entries: sampleEntries())
        let encoded = tree.encoded()
        #expect(try Tree.decode(encoded) == tree)
        #expect(Tree(entries: sampleEntries()).encoded() == encoded, "encoding must be deterministic")
    }

    /// Trees whose entries are all the smallest an entry can be: found in Go's sources
    /// (`os/testdata/dirfs/dir` holds only an empty file "x"), refused by the decoder's
    /// bound before 2026-12-06 although the snapshot had stored them.
    @Test(arguments: [["x"], ["a", "b"], ["a", "b", "c", "d", "e", "f", "g", "h"]])
    func treesOfTheSmallestEntriesDecode(_ names: [String]) throws {
        let tree = Tree(entries: names.map { TreeEntry(name: Array($0.utf8), kind: .file) })
        let encoded = tree.encoded()
        #expect(encoded.count == 5 + names.count * Tree.minimumEntrySize, "the bound is the smallest entry's real size")
        #expect(try Tree.decode(encoded) == tree)
        #expect(throws: RepositoryError.self) { try Tree.decode(Array(encoded.dropLast())) }
    }

    @Test func snapshotsOfDirectoriesHoldingOnlyTinyEmptyFilesRestore() throws {
        let fixture = try Fixture()
        try fixture.write("dirfs/dir/x", [])
        try fixture.write("dirfs/a", [])
        try fixture.write("dirfs/b", [])
        try fixture.write("pair/p", [])
        try fixture.write("pair/q", [])
        let snapshot = try fixture.engine.snapshot(volume: "v")
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(snapshot.id.hex), subpath: nil, target: fixture.root + "/r")
        for path in ["dirfs/dir/x", "dirfs/a", "dirfs/b", "pair/p", "pair/q"] {
            #expect(fixture.read(fixture.root + "/r/" + path) == [], "\(path) restored")
        }
    }

    @Test(arguments: NameVectors.refused)
    func escapingNamesAreRefused(_ name: NameCase) {
        let tree = Tree(entries: [TreeEntry(name: name.bytes, kind: .file)])
        #expect(throws: RepositoryError.self) { try Tree.decode(tree.encoded()) }
    }

    @Test(arguments: NameVectors.accepted)
    func oddNamesRoundTrip(_ name: NameCase) throws {
        let tree = Tree(entries: [TreeEntry(name: name.bytes, kind: .file)])
        #expect(try Tree.decode(tree.encoded()).entries[0].name == name.bytes)
    }

    /// A symlink "x" followed by a directory "x" would let a restore write through the link.
    @Test func duplicateAndUnsortedNamesAreRefused() {
        let link = TreeEntry(name: Array("x".utf8), kind: .symlink, symlinkTarget: Array("/etc".utf8))
        let directory = TreeEntry(name: Array("x".utf8), kind: .directory, subtree: BlobID.hash([3]))
        #expect(throws: RepositoryError.self) { try Tree.decode(Tree(entries: [link, directory]).encoded()) }
        let b = TreeEntry(name: Array("b".utf8), kind: .file), a = TreeEntry(name: Array("a".utf8), kind: .file)
        #expect(throws: RepositoryError.self) { try Tree.decode(Tree(entries: [b, a]).encoded()) }
    }

    @Test func sizeMustMatchChunks() {
        var entry = TreeEntry(name: Array("f".utf8), kind: .file, size: 99, chunks: [ChunkRef(id: BlobID.hash([1]), length: 100)])
        #expect(throws: RepositoryError.self) { try Tree.decode(Tree(entries: [entry]).encoded()) }
        entry.size = 100
        #expect(throws: Never.self) { try Tree.decode(Tree(entries: [entry]).encoded()) }
    }

    @Test func modeWithTypeBitsIsRefused() {
        let entry = TreeEntry(name: Array("f".utf8), kind: .file, mode: 0o100644)
        #expect(throws: RepositoryError.self) { try Tree.decode(Tree(entries: [entry]).encoded()) }
    }

    /// Mutated trees decode to a valid tree or throw; they never crash or allocate wildly.
    @Test(arguments: 0..<4)
    func decoderSurvivesMutations(_ seed: UInt64) {
        let valid = Tree(entries: sampleEntries()).encoded()
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state & 0x7fff_ffff)
        }
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<(1 + next() % 4) {
                switch next() % 4 {
                case 0: bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next())
                case 1: bytes.removeLast(min(bytes.count - 1, next() % 16))
                case 2: bytes.insert(UInt8(truncatingIfNeeded: next()), at: next() % bytes.count)
                default: bytes[next() % bytes.count] ^= 0xff
                }
            }
            if let tree = try? Tree.decode(bytes) {
                for entry in tree.entries { #expect(throws: Never.self) { try Tree.validate(name: entry.name) } }
                #expect(tree.encoded() == bytes, "a decodable tree must have one encoding")
            }
        }
    }
}
