import Foundation
import Testing
import TestSupport
import Repository
import Retention
@testable import Snapshots

@Suite struct GarbageCollectorTests {
    @Test func forgottenSnapshotsSpaceIsReclaimedAndTheRestStaysExact() throws {
        let fixture = try Fixture()
        let versions = (0..<3).map { randomBytes(3 << 20, seed: 100 + UInt64($0)) }
        var ids: [BlobID] = []
        for version in versions {
            try fixture.write("data.bin", version)
            try fixture.write("stable.txt", Array("unchanged".utf8))
            ids.append(try fixture.engine.snapshot(volume: "v").id)
        }
        let forgotten = try fixture.engine.forget(volume: "v", ids: [.id(ids[0].hex)], policy: nil).forgotten
        #expect(forgotten.map(\.id) == [ids[0]])
        let report = try fixture.engine.collectGarbage()
        #expect(report.deadBlobs > 0)
        #expect(report.bytesReclaimed >= 2 << 20, "the first version's chunks are gone: \(report.bytesReclaimed) bytes")
        #expect(try fixture.engine.verify(readData: true).ok)
        for (index, id) in ids.enumerated().dropFirst() {
            let target = fixture.root + "/r\(index)"
            _ = try fixture.engine.restore(volume: "v", .id(id.hex), subpath: nil, target: target)
            #expect(fixture.read(target + "/data.bin") == versions[index])
        }
        let again = try fixture.engine.collectGarbage()
        #expect(again.deadBlobs == 0 && again.bytesReclaimed == 0, "a second gc finds nothing")
    }

    /// Chunks committed by a snapshot that was killed before its record are debris.
    @Test func debrisOfAnInterruptedSnapshotIsCollected() throws {
        let fixture = try Fixture()
        try fixture.write("f", randomBytes(100_000, seed: 1))
        let kept = try fixture.engine.snapshot(volume: "v")
        do {
            let store = try Store(at: fixture.state, access: .write)
            let writer = BlobWriter(store: store)
            let orphan = randomBytes(2 << 20, seed: 2)
            try writer.append(id: BlobID.of(.chunk, orphan), kind: .chunk, raw: orphan, compressor: Compressor())
            try writer.checkpoint()
        }
        let report = try fixture.engine.collectGarbage()
        #expect(report.deadBlobs == 1)
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(kept.id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/f") == randomBytes(100_000, seed: 1))
    }

    @Test func keepLastKeepsTheNewestCompleteSnapshots() throws {
        let fixture = try Fixture()
        var ids: [BlobID] = []
        for index in 0..<4 {
            try fixture.write("f", [UInt8(index)])
            ids.append(try fixture.engine.snapshot(volume: "v").id)
        }
        let removed = try fixture.engine.forget(volume: "v", ids: [], policy: RetentionPolicy(last: 2)).forgotten
        #expect(Set(removed.map(\.id)) == Set(ids.prefix(2)))
        let store = try Store(at: fixture.state, access: .read)
        #expect(try store.snapshots(volume: "v").map(\.id) == Array(ids.suffix(2)))
    }

    @Test func gcRefusesToRunWhileAReaderHoldsTheStore() throws {
        let fixture = try Fixture()
        try fixture.write("f", [1])
        _ = try fixture.engine.snapshot(volume: "v")
        let reader = try Store(at: fixture.state, access: .read)
        #expect(throws: RepositoryError.self) { try fixture.engine.collectGarbage() }
        withExtendedLifetime(reader) {}
    }
}

@Suite struct GarbageCollectorTailTests {
    /// The bytes an interrupted writer left past a pack's committed size are
    /// reclaimed by gc, and what the snapshots use survives the rewrite.
    @Test func interruptedWritersTailIsReclaimed() throws {
        let fixture = try Fixture()
        try fixture.write("f", randomBytes(300_000, seed: 3))
        let kept = try fixture.engine.snapshot(volume: "v")
        do {
            // What kill -9 during a snapshot leaves: bytes past the last pack's committed end.
            let store = try Store(at: fixture.state, access: .read)
            let last = try #require(try store.index.packSizes().keys.max())
            let handle = try #require(FileHandle(forWritingAtPath: store.packPath(last)))
            try handle.seekToEnd()
            handle.write(Data(randomBytes(1_500_000, seed: 4)))
            try handle.close()
        }
        let (before, committed) = try {
            let store = try Store(at: fixture.state, access: .read)
            return (try store.packFilesOnDisk().values.reduce(0, +), try store.index.packSizes().values.reduce(0, +))
        }()
        #expect(before > committed + 1_000_000)
        let report = try fixture.engine.collectGarbage()
        #expect(report.bytesReclaimed >= 1_000_000)
        let after = try Store(at: fixture.state, access: .read).packFilesOnDisk().values.reduce(0, +)
        #expect(after < before - 1_000_000)
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(kept.id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/f") == randomBytes(300_000, seed: 3))
    }

    /// A killed gc leaves its copies past the committed size of a pack that is
    /// otherwise live and too full to be worth a rewrite: the tail is cut off.
    @Test func tailBehindAMostlyLivePackIsCutOff() throws {
        let fixture = try Fixture()
        try fixture.write("f", randomBytes(8 << 20, seed: 5))
        let kept = try fixture.engine.snapshot(volume: "v")
        let (path, committed) = try { () throws -> (String, Int) in
            let store = try Store(at: fixture.state, access: .read)
            let (last, size) = try #require(try store.index.packSizes().max { $0.key < $1.key })
            let handle = try #require(FileHandle(forWritingAtPath: store.packPath(last)))
            try handle.seekToEnd()
            handle.write(Data(randomBytes(1 << 20, seed: 6)))
            try handle.close()
            return (store.packPath(last), size)
        }()
        #expect(committed > 7 << 20, "the tail is under the rewrite threshold")
        let report = try fixture.engine.collectGarbage()
        #expect(report.packsRewritten == 0 && report.packsDeleted == 0)
        #expect(report.bytesReclaimed == 1 << 20)
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        #expect(size == committed)
        #expect(try fixture.engine.verify(readData: true).ok)
        // The pack is whole again: the next snapshot may append to it.
        try fixture.write("g", randomBytes(100_000, seed: 7))
        _ = try fixture.engine.snapshot(volume: "v")
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(kept.id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/f") == randomBytes(8 << 20, seed: 5))
    }
}

@Suite struct GarbageCollectorKeepsEvidenceTests {
    /// repair-index keeps a pack it could not read (a row, no blobs): gc must
    /// leave it, it is what a manual recovery would work from.
    @Test func unreadablePackKeptByRepairSurvivesGC() throws {
        let fixture = try Fixture()
        try fixture.write("f", randomBytes(100_000, seed: 9))
        _ = try fixture.engine.snapshot(volume: "v")
        let garbage = randomBytes(50_000, seed: 10)
        let strange = try { () throws -> String in
            let store = try Store(at: fixture.state, access: .read)
            #expect(FileManager.default.createFile(atPath: store.packPath(99), contents: Data(garbage)))
            try store.index.insertPack(99, size: garbage.count)
            return store.packPath(99)
        }()
        _ = try fixture.engine.collectGarbage()
        #expect(FileManager.default.contents(atPath: strange).map { [UInt8]($0) } == garbage)
    }
}

@Suite struct GarbageCollectorResumeTests {
    /// A gc killed after the transaction that dropped a pack, before unlinking
    /// it, leaves the pack in doomed_pack: the next gc removes the file.
    @Test func doomedPackOfAKilledGCIsRemovedNextTime() throws {
        let fixture = try Fixture()
        try fixture.write("f", randomBytes(100_000, seed: 11))
        let kept = try fixture.engine.snapshot(volume: "v")
        let path = try { () throws -> String in
            let store = try Store(at: fixture.state, access: .write)
            let number = try store.index.allocatePack(headerLength: 8, above: try store.packFilesOnDisk().keys.max() ?? 0)
            #expect(FileManager.default.createFile(atPath: store.packPath(number), contents: Data(PackFormat.fileMagic)))
            // What gc's transaction does, without the unlink that follows it.
            try store.index.relocate(moved: [], deleted: [], removedPacks: [number], packSizes: [:])
            #expect(try store.index.doomedPacks() == [number])
            return store.packPath(number)
        }()
        _ = try fixture.engine.collectGarbage()
        #expect(!FileManager.default.fileExists(atPath: path))
        let store = try Store(at: fixture.state, access: .write)
        #expect(try store.index.doomedPacks().allSatisfy { $0 >= (try store.index.packSizes().keys.max() ?? 0) },
                "only the highest removed number stays doomed, so it is never reused")
        let next = try store.index.allocatePack(headerLength: 8, above: try store.packFilesOnDisk().keys.max() ?? 0)
        #expect(next > Int64(PackFormat.packNumber(fileName: (path as NSString).lastPathComponent)!))
        _ = try fixture.engine.restore(volume: "v", .id(kept.id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/f") == randomBytes(100_000, seed: 11))
    }
}

/// Forgetting by policy keeps what the node still needs.
@Suite struct SnapshotForgetterTests {
    @Test func aPolicyNeverForgetsTheStandbysSnapshotNorTheNewest() throws {
        let fixture = try Fixture()
        var ids: [BlobID] = []
        for index in 0..<5 {
            try fixture.write("f", [UInt8(index)])
            ids.append(try fixture.engine.snapshot(volume: "v").id)
        }
        let store = try Store(at: fixture.state, access: .write)
        try store.index.setStandby(volume: "v", path: fixture.root + "/standby", snapshot: ids[1], updating: ids[2])
        let dry = try fixture.engine.forget(volume: "v", ids: [], policy: RetentionPolicy(last: 1), dryRun: true, in: store)
        #expect(Set(dry.forgotten.map(\.id)) == [ids[0], ids[3]])
        #expect(try store.snapshots(volume: "v").count == 5, "a dry run changes nothing")
        let reasons = Dictionary(uniqueKeysWithValues: dry.verdicts.map { ($0.id, $0.reasons.map(\.rule)) })
        #expect(reasons[ids[1].hex] == [.inUse] && reasons[ids[2].hex] == [.inUse] && reasons[ids[4].hex] == [.newest, .last])
        let done = try fixture.engine.forget(volume: "v", ids: [], policy: RetentionPolicy(last: 1), dryRun: false, in: store)
        #expect(Set(done.forgotten.map(\.id)) == [ids[0], ids[3]])
        #expect(try store.snapshots(volume: "v").map(\.id) == [ids[1], ids[2], ids[4]])
        #expect(throws: RepositoryError.self) {
            _ = try fixture.engine.forget(volume: "v", ids: [.id(ids[1].hex)], policy: nil, dryRun: false, in: store)
        }
        #expect(try store.snapshots(volume: "v").count == 3, "a refused forget changes nothing")
    }
}
