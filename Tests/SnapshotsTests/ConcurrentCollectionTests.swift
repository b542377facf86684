import Foundation
import Synchronization
import Testing
import TestSupport
import Repository
import Retention
@testable import Snapshots

/// gc beside the writers and readers of its own process, as in the agent: each
/// rule of the store's gate forced at the moment it matters, then all of it at random.
@Suite struct ConcurrentCollectionTests {
    /// Chunks gc found dead, looked up by a snapshot after gc's mark: kept, and
    /// that snapshot restores. Without `noteUsed` gc deletes them under it.
    @Test func chunksASnapshotReusesWhileGCRunsAreKept() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        let old = randomBytes(1 << 20, seed: 21)
        try fixture.write("f", old)
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        try fixture.write("f", randomBytes(200_000, seed: 22))
        _ = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        _ = try fixture.engine.forget(volume: "v", ids: [.id(first.id.hex)], policy: nil, dryRun: false, in: store)

        let collector = GarbageCollector(store: store)
        var again: Result<SnapshotOutcome, any Error>?
        collector.progress = { _, _ in
            guard again == nil else { return }
            again = Result {
                try fixture.write("f", old)
                return try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
            }
        }
        let report = try collector.run()
        let reused = try #require(try again?.get())
        #expect(report.blobsRevived > 0, "the old chunks were dead at the mark and looked up after it")
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(reused.id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/f") == old)
    }

    /// A writer that looked blobs up before gc began (so nothing noted them):
    /// gc waits until it has ended, then marks the snapshot it committed.
    @Test func gcWaitsForAWriterThatStartedBeforeIt() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        let old = randomBytes(1 << 20, seed: 51)
        try fixture.write("f", old)
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        try fixture.write("f", randomBytes(100_000, seed: 52))
        _ = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        _ = try fixture.engine.forget(volume: "v", ids: [.id(first.id.hex)], policy: nil, dryRun: false, in: store)

        var writer: BlobWriter? = BlobWriter(store: store)
        #expect(try writer!.known([first.record.root]) == [first.record.root])
        let finished = Mutex<Result<CollectionReport, any Error>?>(nil)
        Thread {
            let result = Result { try GarbageCollector(store: store).run() }
            finished.withLock { $0 = result }
        }.start()
        let started = Date()
        while !store.gate.isCollecting && Date().timeIntervalSince(started) < 30 { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(finished.withLock { $0 == nil }, "gc waits for the writer that started before it")
        var record = first.record
        record.timeNanoseconds += 1
        let id = try writer!.commit(record, compressor: Compressor())
        writer = nil
        let deadline = Date().addingTimeInterval(60)
        while finished.withLock({ $0 == nil }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let report = try #require(finished.withLock { $0 }).get()
        #expect(report.waitedSeconds >= 0.4, "gc waited for the writer")
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/f") == old)
    }

    /// A writer that finds a dead tree and reuses it whole (as a reception does
    /// with a root or subtree it already has) before gc drops the trees: gc
    /// keeps the tree and everything it reaches.
    @Test func aTreeReusedWhileGCRunsKeepsEverythingItReaches() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        let content = (0..<6).map { randomBytes(300_000, seed: 40 + UInt64($0)) }
        for (index, bytes) in content.enumerated() { try fixture.write("d/sub/f\(index)", bytes) }
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        try FileManager.default.removeItem(atPath: fixture.volume + "/d")
        try fixture.write("other", [1, 2, 3])
        _ = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        _ = try fixture.engine.forget(volume: "v", ids: [.id(first.id.hex)], policy: nil, dryRun: false, in: store)

        let collector = GarbageCollector(store: store)
        var reused: Result<BlobID, any Error>?
        collector.afterMark = {
            reused = Result {
                let writer = BlobWriter(store: store)
                #expect(try writer.known([first.record.root]) == [first.record.root], "the dead root is still there")
                var record = first.record
                record.timeNanoseconds += 1
                return try writer.commit(record, compressor: Compressor())
            }
        }
        let report = try collector.run()
        let id = try #require(try reused?.get())
        #expect(report.deadBlobs > 0)
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(id.hex), subpath: nil, target: fixture.root + "/r")
        for (index, bytes) in content.enumerated() { #expect(fixture.read(fixture.root + "/r/d/sub/f\(index)") == bytes) }
    }

    /// A dead tree in a pack a writer holds while gc runs keeps its row, so a
    /// writer may find it and reuse it whole: gc marks from it, and the chunks
    /// it reaches (dead, in a pack gc did claim) stay.
    @Test func aDeadTreeInAPackAWriterHoldsKeepsItsChunks() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        let big = randomBytes(40 << 20, seed: 71)
        try fixture.write("big.bin", big)
        try fixture.write("small", [1])
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)   // pack 1: chunks and trees
        chmod(fixture.volume + "/small", 0o600)
        let second = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)  // new trees only: a second pack
        try FileManager.default.removeItem(atPath: fixture.volume + "/big.bin")
        _ = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        _ = try fixture.engine.forget(volume: "v", ids: [.id(first.id.hex), .id(second.id.hex)], policy: nil, dryRun: false, in: store)
        let treePack = try #require(try store.index.location(of: second.record.root)).pack
        let chunkPack = try #require(try store.index.location(of: BlobID.of(.chunk, Array(big.prefix(16))))?.pack
            ?? store.index.location(of: first.record.root)?.pack)
        #expect(treePack != chunkPack)

        let collector = GarbageCollector(store: store)
        var holder: BlobWriter?
        var reused: Result<BlobID, any Error>?
        collector.afterBegin = {
            // A reception starts appending to the newest pack (the one with the dead trees).
            holder = BlobWriter(store: store)
            try? holder!.append(id: BlobID.of(.chunk, [7]), kind: .chunk, raw: [7], compressor: Compressor())
        }
        collector.afterMark = {
            reused = Result {
                #expect(try holder!.known([second.record.root]) == [second.record.root])
                var record = second.record
                record.timeNanoseconds += 1
                return try holder!.commit(record, compressor: Compressor())
            }
        }
        let report = try collector.run()
        holder = nil
        let id = try #require(try reused?.get())
        #expect(report.packsSkipped >= 1, "the writer's pack was left alone")
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/big.bin") == big)
    }

    /// A writer holding the pack with a forgotten snapshot's trees does not
    /// keep that snapshot alive: its dead trees lose their rows there too (the
    /// pack is marked dirty), its chunks in the claimed packs are reclaimed,
    /// and the next gc rewrites the dirty pack.
    @Test func aPackAWriterHoldsDoesNotKeepAForgottenSnapshotAlive() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        try fixture.write("big.bin", randomBytes(40 << 20, seed: 91))
        try fixture.write("small", [1])
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        chmod(fixture.volume + "/small", 0o600)
        let second = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        try FileManager.default.removeItem(atPath: fixture.volume + "/big.bin")
        let third = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        _ = try fixture.engine.forget(volume: "v", ids: [.id(first.id.hex), .id(second.id.hex)], policy: nil, dryRun: false, in: store)

        let collector = GarbageCollector(store: store)
        var holder: BlobWriter?
        collector.afterBegin = {
            holder = BlobWriter(store: store)
            try? holder!.append(id: BlobID.of(.chunk, [8]), kind: .chunk, raw: [8], compressor: Compressor())
        }
        let report = try collector.run()
        holder = nil
        #expect(report.packsSkipped >= 1)
        #expect(report.bytesReclaimed >= 39 << 20, "the big file's chunks went though a writer held the trees' pack: \(report)")
        #expect(try store.index.dirtyPacks().isEmpty == false, "the held pack lost rows and is marked dirty")
        let next = try GarbageCollector(store: store).run()
        let dirtyAfter = try store.index.dirtyPacks()
        #expect(next.packsRewritten + next.packsDeleted >= 1 && dirtyAfter.isEmpty, "\(next)")
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(third.id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/small") == [1])
    }

    /// A tree a writer wrote and checkpointed after gc began, whose snapshot it
    /// commits only later, is listed by gc as a row nothing reaches yet: the
    /// note taken when it was written keeps it.
    @Test func aTreeWrittenWhileGCRunsIsNotTakenForDead() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        try fixture.write("f", randomBytes(100_000, seed: 95))
        let base = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        let chunk = randomBytes(50_000, seed: 96)
        let chunkID = BlobID.of(.chunk, chunk)
        var entry = try #require(try fixture.tree(base.record.root).entries.first)
        entry.chunks = [ChunkRef(id: chunkID, length: chunk.count)]
        entry.size = UInt64(chunk.count)
        let tree = Tree(entries: [entry]).encoded()
        let treeID = BlobID.of(.tree, tree)

        let collector = GarbageCollector(store: store)
        var writer: BlobWriter?
        collector.afterBegin = {
            writer = BlobWriter(store: store)
            try? writer!.append(id: chunkID, kind: .chunk, raw: chunk, compressor: Compressor())
            try? writer!.append(id: treeID, kind: .tree, raw: tree, compressor: Compressor())
            try? writer!.checkpoint()   // rows committed, no snapshot yet
        }
        _ = try collector.run()
        var record = base.record
        record.root = treeID
        record.timeNanoseconds += 1
        let id = try writer!.commit(record, compressor: Compressor())
        writer = nil
        #expect(try fixture.engine.verify(readData: true).ok)
        _ = try fixture.engine.restore(volume: "v", .id(id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/f") == chunk)
    }

    /// A reader that looked blobs up before gc rewrote their pack reads them
    /// where they are now; the old pack is gone and its number is never reused.
    @Test func aReaderWithOldLocationsFollowsARewrittenPack() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        let keep = randomBytes(1 << 20, seed: 31)
        try fixture.write("keep.bin", keep)
        try fixture.write("drop.bin", randomBytes(3 << 20, seed: 32))
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        try FileManager.default.removeItem(atPath: fixture.volume + "/drop.bin")
        let second = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        _ = try fixture.engine.forget(volume: "v", ids: [.id(first.id.hex)], policy: nil, dryRun: false, in: store)

        let chunks = try #require(try fixture.tree(second.record.root).entry(named: Array("keep.bin".utf8))).chunks.map(\.id)
        let before = try store.index.locations(of: chunks)
        let oldPacks = Set(before.values.map(\.pack))
        let report = try GarbageCollector(store: store).run()
        #expect(report.packsRewritten >= 1)
        for pack in oldPacks { #expect(!FileManager.default.fileExists(atPath: store.packPath(pack)), "pack \(pack) was rewritten") }

        let decompressor = Decompressor()
        var read: [UInt8] = []
        for id in chunks {
            let old = try #require(before[id])
            read += try store.read(old, using: decompressor)
            let run = try store.readRun([old])
            try run.withUnsafeBytes { _ = try store.decode(old, from: $0, using: decompressor) }
        }
        #expect(read == keep)
        let writer = BlobWriter(store: store)
        try writer.append(id: BlobID.of(.chunk, [9]), kind: .chunk, raw: [9], compressor: Compressor())
        try writer.checkpoint()
        let newest = try #require(try store.index.packSizes().keys.max())
        #expect(newest > oldPacks.max()!, "a new pack takes a number above every removed one")
    }

    /// Two volumes snapshotted and forgotten in loops (each under its own lock,
    /// as the agent's volume locks do), a reader restoring, and gc in a loop
    /// beside them; contents recur so snapshots keep reusing what gc finds dead.
    /// Afterwards every snapshot restores byte-exact and `verify --read-data` is clean.
    @Test func gcInALoopBesideSnapshotsForgetsAndReads() throws {
        let stress = try GCStress(steps: 16)
        DispatchQueue.concurrentPerform(iterations: 4) { stress.run(role: $0) }
        #expect(stress.failures.withLock { $0 } == [])
        #expect(try stress.fixture.engine.verify(readData: true).ok)
        let snapshots = try stress.store.snapshots(volume: nil)
        for snapshot in snapshots {
            let (volume, step) = try #require(stress.expected.withLock { $0[snapshot.id] })
            try stress.check(snapshot.id, volume, step, into: stress.fixture.root + "/final")
        }
        #expect(stress.failures.withLock { $0 } == [])
        #expect(snapshots.count == 4)
        #expect(stress.collections.load(ordering: .relaxed) >= 3)
    }
}

/// The roles of the loop test: writers of two volumes, gc, a reader.
private final class GCStress: @unchecked Sendable {
    let fixture: Fixture
    let store: Store
    let paths: [String: String]
    let steps: Int
    let expected = Mutex<[BlobID: (volume: String, step: Int)]>([:])
    let failures = Mutex<[String]>([])
    let writersDone = Atomic<Int>(0)
    let collections = Atomic<Int>(0)
    /// The agent's volume locks: a snapshot, a forget or a read of one volume at a time.
    let locks = ["v": NSLock(), "w": NSLock()]

    init(steps: Int) throws {
        fixture = try Fixture()
        store = try Store(at: fixture.state, access: .write)
        let second = fixture.root + "/volume-w"
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        try store.index.addVolume(VolumeRecord(name: "w", path: second, chunkAverage: 16384))
        paths = ["v": fixture.volume, "w": second]
        self.steps = steps
    }

    func run(role: Int) {
        do {
            switch role {
            case 0, 1: try write(role == 0 ? "v" : "w")
            case 2:
                while writersDone.load(ordering: .sequentiallyConsistent) < 2 || collections.load(ordering: .relaxed) < 3 {
                    _ = try GarbageCollector(store: store).run()
                    collections.add(1, ordering: .relaxed)
                }
            default:
                while writersDone.load(ordering: .sequentiallyConsistent) < 2 {
                    try locks["v"]!.withLock {
                        guard let newest = try store.snapshots(volume: "v").last,
                              let step = expected.withLock({ $0[newest.id]?.step }) else { return }
                        try check(newest.id, "v", step, into: fixture.root + "/reader")
                    }
                }
            }
        } catch {
            failures.withLock { $0.append("role \(role): \(error)") }
            if role < 2 { writersDone.add(1, ordering: .sequentiallyConsistent) }
        }
    }

    private func write(_ volume: String) throws {
        for step in 0..<steps {
            try materialize(volume, step)
            try locks[volume]!.withLock {
                let outcome = try fixture.engine.snapshot(volume: volume, in: store, epoch: 0)
                expected.withLock { $0[outcome.id] = (volume, step) }
            }
            _ = try locks[volume]!.withLock {
                try fixture.engine.forget(volume: volume, ids: [], policy: RetentionPolicy(last: 2), dryRun: false, in: store)
            }
        }
        writersDone.add(1, ordering: .sequentiallyConsistent)
    }

    func contents(_ volume: String, _ step: Int) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for index in 0..<4 {
            // Seeds recur every three steps: chunks die with a forget and come back.
            let seed = UInt64((step + index) % 3) + (volume == "v" ? 0 : 100) + UInt64(index) * 10
            files["dir\(index % 2)/f\(index)"] = randomBytes(150_000 + index * 40_000, seed: seed)
        }
        if step % 2 == 0 { files["even/marker"] = Array("step \(step)".utf8) }
        return files
    }

    private func materialize(_ volume: String, _ step: Int) throws {
        let root = paths[volume]!
        for name in try FileManager.default.contentsOfDirectory(atPath: root) { try FileManager.default.removeItem(atPath: root + "/" + name) }
        for (name, bytes) in contents(volume, step) {
            let url = URL(fileURLWithPath: root + "/" + name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
    }

    func check(_ id: BlobID, _ volume: String, _ step: Int, into target: String) throws {
        try? FileManager.default.removeItem(atPath: target)
        _ = try fixture.engine.restore(volume: volume, .id(id.hex), subpath: nil, target: target)
        for (name, bytes) in contents(volume, step) where fixture.read(target + "/" + name) != bytes {
            failures.withLock { $0.append("\(volume) step \(step) \(id.short): \(name) differs") }
        }
    }
}

/// `barge verify` beside the agent's gc: a blob listed at the start and
/// collected before it is read is not reported as damage.
@Suite struct VerifyBesideCollectionTests {
    @Test func blobsCollectedWhileVerifyRunsAreNotDamage() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        try fixture.write("gone.bin", randomBytes(3 << 20, seed: 97))
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        try FileManager.default.removeItem(atPath: fixture.volume + "/gone.bin")
        try fixture.write("kept.bin", randomBytes(200_000, seed: 98))
        _ = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        _ = try fixture.engine.forget(volume: "v", ids: [.id(first.id.hex)], policy: nil, dryRun: false, in: store)

        let reader = try Store(at: fixture.state, access: .read)
        let verifier = Verifier(store: reader, readData: true, workers: 1)
        var collected: CollectionReport?
        verifier.afterListing = { collected = try? GarbageCollector(store: store).run() }
        let report = try verifier.run()
        #expect((collected?.deadBlobs ?? 0) > 0 && (collected?.packsDeleted ?? 0) + (collected?.packsRewritten ?? 0) > 0, "gc ran in between")
        #expect(report.ok, "\(report.damaged)")
        #expect(report.collectedMeanwhile > 0)
        #expect(try fixture.engine.verify(readData: true).ok)
    }
}
