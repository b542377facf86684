import Foundation
import Repository
import Snapshots
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The standby copy follows snapshots by changing only what differs, and ends
/// equal to the snapshot in content and metadata.
@Suite struct StandbySyncTests {
    @Test func incrementalUpdatesEndEqualToEachSnapshot() throws {
        let pair = try StorePair("standby")
        let volume = pair.volumePath, standby = pair.root + "/standby"
        try TreeGenerator(seed: 3).build(at: volume)
        var bulk = SplitMix64(seed: 5)
        try RawFS.write(RawFS.bytes(volume + "/database.db"), bulk.bytes(6 << 20))
        let first = try pair.snapshot()
        let built = try StandbySync(store: pair.a).update(directory: standby, from: nil, to: first)
        #expect(built.rebuilt)
        try expectSameTree(try Manifest.capture(volume), standby, "standby after the first snapshot")

        // Every kind of change but hard links.
        var rng = SplitMix64(seed: 4)
        func at(_ path: String) -> [UInt8] { RawFS.bytes(volume + "/" + path) }
        try RawFS.write(at("docs/readme.txt"), rng.text(12_345))
        try RawFS.removeTree(volume + "/data/rand-1.bin")
        try RawFS.removeTree(volume + "/nested/a/b/c")
        try RawFS.removeTree(volume + "/small.txt")
        try RawFS.mkdir(at("small.txt"))
        try RawFS.write(at("small.txt/now-a-dir"), rng.bytes(100))
        try RawFS.removeTree(volume + "/docs/notes.md")
        try RawFS.symlink(RawFS.bytes("readme.txt"), at: at("docs/notes.md"))
        try RawFS.removeTree(volume + "/links/relative")
        try RawFS.write(at("links/relative"), rng.bytes(10))
        try RawFS.removeTree(volume + "/empty-dir")
        try RawFS.symlink(RawFS.bytes("docs"), at: at("empty-dir"))
        try RawFS.chmod(at("modes/private"), 0o640)
        try RawFS.setxattr(at("xattr/file"), "user.comment", RawFS.bytes("changed"))
        try RawFS.setMtime(at("docs/readme.txt"), nanoseconds: 1_700_000_000_123_456_789)
        // A database-like file: pages rewritten in place, bytes inserted in the middle.
        var database = try #require(FileManager.default.contents(atPath: volume + "/database.db")).map { $0 }
        for offset in [4096, 2 << 20, 5 << 20] { database.replaceSubrange(offset..<offset + 100, with: rng.bytes(100)) }
        database.insert(contentsOf: rng.bytes(777), at: 3 << 20)
        try RawFS.write(at("database.db"), database)
        try RawFS.mkdir(at("fresh"))
        try RawFS.mkdir(at("fresh/deeper"))
        try RawFS.write(at("fresh/deeper/file.bin"), rng.bytes(200_000))
        let state2 = try Manifest.capture(volume)
        let second = try pair.snapshot()
        let updated = try StandbySync(store: pair.a).update(directory: standby, from: first, to: second)
        #expect(!updated.rebuilt, "no hard link changed: updated in place")
        #expect(updated.filesPatched == 1, "the large file is built from its old version: \(updated)")
        #expect(updated.filesPatchedInPlace == 0, "an insertion moved most chunks: copied, not patched in place: \(updated)")
        #expect(updated.bytesWritten < 3 << 20, "only new chunks come from the store: \(updated)")
        #expect(updated.entriesRemoved >= 2 && updated.entriesReplaced >= 8, "\(updated)")
        try expectSameTree(state2, standby, "standby after the second snapshot")
        #expect(try RawFS.names(RawFS.bytes(standby)).allSatisfy { !TreeEntryName.isStaging($0) }, "no staging left behind")

        // A hard-link group changed: only a whole restore keeps groups exact.
        try RawFS.write(at("hard/pair-a"), rng.text(100))
        let state3 = try Manifest.capture(volume)
        let third = try pair.snapshot()
        let rebuilt = try StandbySync(store: pair.a).update(directory: standby, from: second, to: third)
        #expect(rebuilt.rebuilt)
        try expectSameTree(state3, standby, "standby after a hard-link change")

        // Unknown current state (an update was cut short): rebuilt from scratch.
        let again = try StandbySync(store: pair.a).update(directory: standby, from: nil, to: third)
        #expect(again.rebuilt)
        try expectSameTree(state3, standby, "standby rebuilt")
        #expect(!FileManager.default.fileExists(atPath: pair.root + "/vol/.barge-standby"), "nothing written beside the volume")
    }

    /// Pages rewritten where they lie (a database), a file grown and one cut
    /// short: each is patched over the old file, writing only the chunks that
    /// changed, and the copy ends equal to the snapshot.
    @Test func rewrittenPagesArePatchedWhereTheyLie() throws {
        let pair = try StorePair("standby-in-place")
        let volume = pair.volumePath, standby = pair.root + "/standby"
        var rng = SplitMix64(seed: 11)
        func at(_ path: String) -> [UInt8] { RawFS.bytes(volume + "/" + path) }
        try RawFS.write(at("database.db"), rng.bytes(12 << 20))
        try RawFS.write(at("grows.log"), rng.bytes(6 << 20))
        try RawFS.write(at("shrinks.bin"), rng.bytes(9 << 20))
        let first = try pair.snapshot()
        _ = try StandbySync(store: pair.a).update(directory: standby, from: nil, to: first)
        let inodes = try ["database.db", "grows.log", "shrinks.bin"].map { try Self.inode(standby + "/" + $0) }

        var database = try #require(FileManager.default.contents(atPath: volume + "/database.db")).map { $0 }
        for page in [0, 700, 1_500, 2_047, 3_071] { database.replaceSubrange(page * 4096..<page * 4096 + 4096, with: rng.bytes(4096)) }
        try RawFS.write(at("database.db"), database)
        var grows = try #require(FileManager.default.contents(atPath: volume + "/grows.log")).map { $0 }
        grows += rng.bytes(1 << 20)
        try RawFS.write(at("grows.log"), grows)
        let shrinks = try #require(FileManager.default.contents(atPath: volume + "/shrinks.bin")).map { $0 }
        try RawFS.write(at("shrinks.bin"), Array(shrinks[0..<(7 << 20) + 123]))
        try RawFS.chmod(at("database.db"), 0o600)
        let state2 = try Manifest.capture(volume)
        let second = try pair.snapshot()
        let updated = try StandbySync(store: pair.a).update(directory: standby, from: first, to: second)
        #expect(!updated.rebuilt && updated.entriesReplaced == 0, "\(updated)")
        #expect(updated.filesPatchedInPlace == 3, "\(updated)")
        #expect(updated.bytesWritten < 4 << 20, "only the changed chunks are written: \(updated)")
        try expectSameTree(state2, standby, "standby after pages were rewritten")
        #expect(try ["database.db", "grows.log", "shrinks.bin"].map { try Self.inode(standby + "/" + $0) } == inodes,
                "the same files were written, not replaced")

        // A standby file that is not what its snapshot says (touched since) is never
        // patched over: it is rebuilt from its old version or from the store instead.
        database.replaceSubrange(8192..<12288, with: rng.bytes(4096))
        try RawFS.write(at("database.db"), database)
        try RawFS.setMtime(RawFS.bytes(standby + "/database.db"), nanoseconds: 1_600_000_000_000_000_000)
        let state3 = try Manifest.capture(volume)
        let third = try pair.snapshot()
        let fallback = try StandbySync(store: pair.a).update(directory: standby, from: second, to: third)
        #expect(fallback.filesPatchedInPlace == 0 && fallback.entriesReplaced == 1, "\(fallback)")
        try expectSameTree(state3, standby, "standby after a touched file")
    }

    /// A pass that dies half way through an in-place patch (here: the last chunk it must
    /// write fails its hash, as a crash or a full disk would stop it) leaves a file that is
    /// neither version; the agent then keeps `updating` set and rebuilds from scratch
    /// (`from: nil`), which must end equal to the snapshot.
    @Test func anInPlacePatchCutShortIsRebuiltWhole() throws {
        let pair = try StorePair("standby-cut")
        let volume = pair.volumePath, standby = pair.root + "/standby"
        var rng = SplitMix64(seed: 12)
        try RawFS.write(RawFS.bytes(volume + "/database.db"), rng.bytes(8 << 20))
        let first = try pair.snapshot()
        _ = try StandbySync(store: pair.a).update(directory: standby, from: nil, to: first)
        var database = try #require(FileManager.default.contents(atPath: volume + "/database.db")).map { $0 }
        let before = database
        for page in [10, 1_000, 1_900] { database.replaceSubrange(page * 4096..<page * 4096 + 4096, with: rng.bytes(4096)) }
        try RawFS.write(RawFS.bytes(volume + "/database.db"), database)
        let state2 = try Manifest.capture(volume)
        let second = try pair.snapshot()

        // The chunk at the highest offset that changed: written last.
        let entries = { (snapshot: StoredSnapshot) in
            try Tree.decode(try pair.a.read(snapshot.record.root, kind: .tree, using: Decompressor())).entries
        }
        let old = try #require(try entries(first).first), new = try #require(try entries(second).first)
        let oldChunks = Set(old.chunks.map(\.id))
        let last = try #require(new.chunks.last { !oldChunks.contains($0.id) })
        let location = try #require(try pair.a.index.location(of: last.id))
        let pack = pair.root + "/a/packs/" + PackFormat.fileName(pack: location.pack)
        let handle = try #require(FileHandle(forUpdatingAtPath: pack))
        let at = UInt64(location.offset + PackFormat.headerLength + location.storedLength / 2)
        try handle.seek(toOffset: at)
        let original = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: at)
        try handle.write(contentsOf: Data([original[0] ^ 0xFF]))

        #expect(throws: (any Error).self) { _ = try StandbySync(store: pair.a).update(directory: standby, from: first, to: second) }
        let halfway = try #require(FileManager.default.contents(atPath: standby + "/database.db")).map { $0 }
        #expect(halfway != database && halfway != before, "patched in place, and stopped before the last chunk")

        try handle.seek(toOffset: at)
        try handle.write(contentsOf: original)
        try handle.close()
        let rebuilt = try StandbySync(store: pair.a).update(directory: standby, from: nil, to: second)
        #expect(rebuilt.rebuilt)
        try expectSameTree(state2, standby, "standby rebuilt after a cut-short in-place patch")
    }

    private static func inode(_ path: String) throws -> UInt64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return UInt64(info.st_ino)
    }
}

enum TreeEntryName {
    static func isStaging(_ name: [UInt8]) -> Bool { name.starts(with: Array(".barge-".utf8)) }
}
