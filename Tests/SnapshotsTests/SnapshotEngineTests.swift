import Foundation
import Synchronization
import Testing
import TestSupport
import Repository
@testable import Snapshots

/// A store and a volume directory under /tmp, removed afterwards.
final class Fixture {
    let root: String
    let state: String
    let volume: String
    let engine: SnapshotEngine

    init() throws {
        root = NSTemporaryDirectory() + "barge-engine-" + UUID().uuidString
        state = root + "/state"
        volume = root + "/volume"
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        let store = try Store.initialize(at: state)
        try store.index.addVolume(VolumeRecord(name: "v", path: volume, chunkAverage: 16384))
        engine = SnapshotEngine(stateDirectory: state, nodeName: "test")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: volume + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func read(_ path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }

    func tree(_ id: BlobID) throws -> Tree {
        let store = try Store(at: state, access: .read)
        return try Tree.decode(try store.read(id, kind: .tree, using: Decompressor()))
    }
}

@Suite struct SnapshotEngineTests {
    @Test func incrementalReadsOnlyChangedFilesAndSharesTrees() throws {
        let fixture = try Fixture()
        for index in 0..<20 { try fixture.write("stable/f\(index)", randomBytes(10_000, seed: UInt64(index))) }
        try fixture.write("hot/db", randomBytes(2 << 20, seed: 99))
        let first = try fixture.engine.snapshot(volume: "v")
        #expect(first.statistics.filesRead == 21)

        var db = randomBytes(2 << 20, seed: 99)
        db.replaceSubrange(1_000_000..<1_000_100, with: [UInt8](repeating: 7, count: 100))
        try fixture.write("hot/db", db)
        let second = try fixture.engine.snapshot(volume: "v")
        #expect(second.statistics.filesRead == 1, "only the changed file is read")
        #expect(second.record.parent == first.id)
        #expect(second.bytesAdded < 200_000, "a 100-byte change adds about one chunk, added \(second.bytesAdded)")

        let oldRoot = try fixture.tree(first.record.root), newRoot = try fixture.tree(second.record.root)
        let stable = Array("stable".utf8), hot = Array("hot".utf8)
        #expect(oldRoot.entry(named: stable)?.subtree == newRoot.entry(named: stable)?.subtree, "unchanged subtree is shared")
        #expect(oldRoot.entry(named: hot)?.subtree != newRoot.entry(named: hot)?.subtree)

        let (_, _, diff) = try fixture.engine.diff(volume: "v", from: nil, to: nil)
        #expect(diff.modified.contains("hot/db"))
        #expect(diff.added.isEmpty && diff.removed.isEmpty)
    }

    @Test func restoreOfEachSnapshotIsExact() throws {
        let fixture = try Fixture()
        let v1 = randomBytes(300_000, seed: 1), v2 = randomBytes(310_000, seed: 2)
        try fixture.write("a/file", v1)
        let first = try fixture.engine.snapshot(volume: "v")
        try fixture.write("a/file", v2)
        try fixture.write("b/new", [1, 2, 3])
        _ = try fixture.engine.snapshot(volume: "v")

        let old = fixture.root + "/r1", new = fixture.root + "/r2"
        _ = try fixture.engine.restore(volume: "v", .id(String(first.id.hex.prefix(10))), subpath: nil, target: old)
        _ = try fixture.engine.restore(volume: "v", .latest, subpath: nil, target: new)
        #expect(fixture.read(old + "/a/file") == v1)
        #expect(!FileManager.default.fileExists(atPath: old + "/b"))
        #expect(fixture.read(new + "/a/file") == v2)
        #expect(fixture.read(new + "/b/new") == [1, 2, 3])

        let single = fixture.root + "/single"
        _ = try fixture.engine.restore(volume: "v", .latest, subpath: "b/new", target: single)
        #expect(fixture.read(single + "/new") == [1, 2, 3])
    }

    @Test func restoreNeverOverwrites() throws {
        let fixture = try Fixture()
        try fixture.write("f", [1])
        _ = try fixture.engine.snapshot(volume: "v")
        let target = fixture.root + "/busy"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data([9]).write(to: URL(fileURLWithPath: target + "/keep"))
        #expect(throws: RepositoryError.self) { try fixture.engine.restore(volume: "v", .latest, subpath: nil, target: target) }
        #expect(fixture.read(target + "/keep") == [9])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.root).filter { $0.hasPrefix(".barge") }.isEmpty,
                "no staging directory is left behind")
    }

    @Test func inPlaceRestoreKeepsThePresentAsASnapshot() throws {
        let fixture = try Fixture()
        try fixture.write("f", [1])
        let first = try fixture.engine.snapshot(volume: "v")
        try fixture.write("f", [2])
        try fixture.write("g", [3])
        let outcome = try fixture.engine.restoreInPlace(volume: "v", .id(first.id.hex), subpath: nil)
        #expect(fixture.read(fixture.volume + "/f") == [1])
        #expect(!FileManager.default.fileExists(atPath: fixture.volume + "/g"))
        let safety = try #require(outcome.safetySnapshot)
        let saved = fixture.root + "/saved"
        _ = try fixture.engine.restore(volume: "v", .id(safety.hex), subpath: nil, target: saved)
        #expect(fixture.read(saved + "/f") == [2])
        #expect(fixture.read(saved + "/g") == [3])
    }

    @Test func unknownSubpathAndVolumeAreNamed() throws {
        let fixture = try Fixture()
        try fixture.write("f", [1])
        _ = try fixture.engine.snapshot(volume: "v")
        do {
            _ = try fixture.engine.restore(volume: "v", .latest, subpath: "nope/x", target: fixture.root + "/t")
            Issue.record("restoring a missing path must fail")
        } catch let error as RepositoryError {
            #expect(error.code == .notFound)
            #expect(error.message.contains("nope/x"))
        }
        do {
            _ = try fixture.engine.snapshot(volume: "other")
            Issue.record("an unknown volume must fail")
        } catch let error as RepositoryError {
            #expect(error.message.contains("other"))
        }
    }

    /// The bare-machine restore removes its scratch store in `afterReading`: by then every byte
    /// is written and no pack is open, and the restore completes without the store.
    @Test func afterReadingComesOnceEverythingIsWrittenAndNoPackIsOpen() throws {
        let fixture = try Fixture()
        var files: [String: [UInt8]] = [:]
        for index in 0..<24 { files["d\(index % 3)/f\(index)"] = randomBytes(60_000 + index * 1000, seed: UInt64(index) + 40) }
        for (path, bytes) in files { try fixture.write(path, bytes) }
        _ = try fixture.engine.snapshot(volume: "v")

        let target = fixture.root + "/restored", state = fixture.state
        let calls = Mutex(0)
        var options = RestoreOptions()
        options.afterReading = {
            calls.withLock { $0 += 1 }
            let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            let packs = open.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
                .filter { $0.hasPrefix(state + "/packs/") }
            #expect(packs.isEmpty, "pack descriptors still open: \(packs)")
            #expect(!FileManager.default.fileExists(atPath: target), "called before the restore is moved into place")
            try FileManager.default.removeItem(atPath: state)
        }
        _ = try fixture.engine.restore(volume: "v", .latest, subpath: nil, target: target, options: options)
        #expect(calls.withLock { $0 } == 1)
        for (path, bytes) in files { #expect(fixture.read(target + "/" + path) == bytes, "\(path)") }

        // A failing hook fails the restore and leaves no target.
        let other = fixture.root + "/other"
        let second = try Fixture()
        try second.write("x", [1, 2, 3])
        _ = try second.engine.snapshot(volume: "v")
        options.afterReading = { throw RepositoryError(.io, "cannot remove") }
        #expect(throws: RepositoryError.self) { try second.engine.restore(volume: "v", .latest, subpath: nil, target: other, options: options) }
        #expect(!FileManager.default.fileExists(atPath: other))
    }

    /// Regression: a file whose bytes equal an encoded tree (here the empty
    /// directory's) must not be mistaken for that tree, nor the tree for it.
    @Test func fileContentEqualToATreeEncodingRoundTrips() throws {
        let fixture = try Fixture()
        let emptyTree = Tree(entries: []).encoded()
        try fixture.write("empty-dir/.keep-none", [])
        try FileManager.default.removeItem(atPath: fixture.volume + "/empty-dir/.keep-none")
        try fixture.write("looks-like-a-tree", emptyTree)
        let snapshot = try fixture.engine.snapshot(volume: "v")
        let target = fixture.root + "/r"
        _ = try fixture.engine.restore(volume: "v", .id(snapshot.id.hex), subpath: nil, target: target)
        #expect(fixture.read(target + "/looks-like-a-tree") == emptyTree)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/empty-dir").isEmpty)
        #expect(try fixture.engine.verify(readData: true).ok)
    }
}
