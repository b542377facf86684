import Foundation
import Replication
import Repository
import Snapshots
import Synchronization
import Testing
import TestSupport

/// A replica's first standby copy is written while the snapshot arrives
/// (`SnapshotReceiver.onTransfer`, `BlobArrivals`), and ends equal to the
/// snapshot; a transfer cut short leaves no copy and no staging behind.
@Suite struct StandbyDuringTransferTests {
    /// Runs `StandbySync.buildStaging` on its own thread, as the agent does.
    final class Build: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let outcome = Mutex<Result<String, any Error>?>(nil)
        let rootWasInStore = Mutex<Bool?>(nil)

        func start(store: Store, beside standby: String, target: StoredSnapshot, arrivals: BlobArrivals) {
            rootWasInStore.withLock { $0 = (try? store.index.location(of: target.record.root)) != nil }
            DispatchQueue.global().async { [self] in
                let result = Result { try StandbySync(store: store).buildStaging(beside: standby, target, arrivals: arrivals) }
                outcome.withLock { $0 = result }
                done.signal()
            }
        }

        func result() throws -> String {
            guard done.wait(timeout: .now() + 120) == .success else { throw CancellationError() }
            return try outcome.withLock { $0! }.get()
        }
    }

    /// Bulk files past several receiver checkpoints, every kind of entry, a
    /// directory present twice (one tree at two paths) and a file twice.
    static func fill(_ volume: String) throws {
        try TreeGenerator(seed: 21).build(at: volume)
        var rng = SplitMix64(seed: 22)
        try RawFS.mkdir(RawFS.bytes(volume + "/bulk"))
        for index in 0..<6 { try RawFS.write(RawFS.bytes(volume + "/bulk/part-\(index).bin"), rng.bytes(3 << 20)) }
        try RawFS.mkdir(RawFS.bytes(volume + "/twice-a"))
        try RawFS.mkdir(RawFS.bytes(volume + "/twice-b"))
        let same = rng.bytes(300_000)
        for directory in ["twice-a", "twice-b"] {
            try RawFS.write(RawFS.bytes(volume + "/\(directory)/same.bin"), same)
            try RawFS.setMtime(RawFS.bytes(volume + "/\(directory)/same.bin"), nanoseconds: 1_600_000_000_000_000_000)
            try RawFS.setMtime(RawFS.bytes(volume + "/\(directory)"), nanoseconds: 1_600_000_000_000_000_000)
        }
        let part0 = try #require(FileManager.default.contents(atPath: volume + "/bulk/part-0.bin"))
        try RawFS.write(RawFS.bytes(volume + "/bulk/copy-of-part-0.bin"), [UInt8](part0))
    }

    static func noStaging(in directory: String) throws -> Bool {
        try RawFS.names(RawFS.bytes(directory)).allSatisfy { !TreeEntryName.isStaging($0) }
    }

    /// A filled volume, its snapshot on "a", and where "b" puts its copy.
    struct Setup {
        let pair: StorePair
        let expected: Manifest
        let snapshot: StoredSnapshot
        var standby: String { pair.root + "/copies/v" }

        init(_ label: String) throws {
            pair = try StorePair(label)
            try StandbyDuringTransferTests.fill(pair.volumePath)
            expected = try Manifest.capture(pair.volumePath)
            snapshot = try pair.snapshot()
        }

        /// Replicates a to b with a copy built during the transfer (`cutAfter`: frames before the cut).
        func replicate(cutAfter frames: Int? = nil) async -> (Build, Result<ReceiveOutcome, Error>) {
            let build = Build(), replica = pair.b, standby = self.standby
            let (_, received) = await pair.replicate(snapshot, configure: { _, receiverEnd in receiverEnd.failAfterReceiving = frames },
                                                     onTransfer: { target, arrivals in
                build.start(store: replica, beside: standby, target: target, arrivals: arrivals)
            })
            return (build, received)
        }
    }

    @Test func standbyIsWrittenWhileTheSnapshotArrives() async throws {
        let setup = try Setup("early-standby")
        let handed = Mutex<BlobArrivals?>(nil)
        let build = Build(), replica = setup.pair.b, standby = setup.standby
        let (_, received) = await setup.pair.replicate(setup.snapshot, onTransfer: { target, arrivals in
            handed.withLock { $0 = arrivals }
            arrivals.handOverChunks()
            build.start(store: replica, beside: standby, target: target, arrivals: arrivals)
        })
        _ = try received.get()
        #expect(build.rootWasInStore.withLock { $0 } == false, "the copy was started before the replica held the snapshot")
        try StandbySync.install(try build.result(), at: setup.standby)
        try expectSameTree(setup.expected, setup.standby, "the standby copy written during the transfer")
        let taken = try #require(handed.withLock { $0 }).chunksHandedOver
        #expect(taken > 0, "chunks verified on receipt went to the copy without a second read, decode and hash")
        #expect(try Self.noStaging(in: setup.pair.root + "/copies"), "no staging left behind")
    }

    @Test func aTransferCutShortLeavesNoCopyAndTheNextOneCompletes() async throws {
        let setup = try Setup("early-standby-cut")
        let (cut, failed) = await setup.replicate(cutAfter: 60)
        #expect(throws: (any Error).self) { try failed.get() }
        #expect(throws: RepositoryError.self, "the build gives up with the transfer") { try cut.result() }
        #expect(!FileManager.default.fileExists(atPath: setup.standby))
        #expect(try Self.noStaging(in: setup.pair.root + "/copies"), "the cut build removed its staging")

        // The next attempt resumes the transfer; its copy reads what the first one kept from the store.
        let (build, received) = await setup.replicate()
        _ = try received.get()
        try StandbySync.install(try build.result(), at: setup.standby)
        try expectSameTree(setup.expected, setup.standby, "the standby copy after a resumed transfer")
    }

    /// Verified chunks handed over raw: each once, within the budget, and an offer wakes a waiter.
    @Test func chunksAreHandedOverOnceWithinTheBudget() throws {
        let arrivals = BlobArrivals()
        let a = BlobID.of(.chunk, [1]), b = BlobID.of(.chunk, [2]), c = BlobID.of(.chunk, [3])
        arrivals.offer(chunk: a, raw: [1])
        #expect(arrivals.takeChunks([a]).isEmpty, "none held before a reader asks for them")
        arrivals.handOverChunks(upTo: 100)
        arrivals.offer(chunk: a, raw: [UInt8](repeating: 1, count: 60))
        arrivals.offer(chunk: b, raw: [UInt8](repeating: 2, count: 60))   // over the budget: dropped
        #expect(arrivals.takeChunks([a, b]).keys.sorted { $0.hex < $1.hex } == [a])
        #expect(arrivals.takeChunks([a]).isEmpty, "handed over once")
        arrivals.offer(chunk: b, raw: [UInt8](repeating: 2, count: 60))   // room again once taken
        #expect(arrivals.takeChunks([b])[b] == [UInt8](repeating: 2, count: 60))
        #expect(arrivals.chunksHandedOver == 2)

        let got = Mutex<[UInt8]?>(nil)
        let waiting = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let bytes = try? arrivals.wait(for: "chunk") { () -> [UInt8]? in
                waiting.signal()
                return arrivals.takeChunks([c])[c]
            }
            got.withLock { $0 = bytes }
            done.signal()
        }
        waiting.wait()
        arrivals.offer(chunk: c, raw: [7])
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(got.withLock { $0 } == [7])
    }

    /// The reader's side alone: it waits for news, and fails as soon as the reception does.
    @Test func waitersWakeOnNewsAndGiveUpWhenTheReceptionEnds() throws {
        let arrivals = BlobArrivals()
        let tree = BlobID.of(.tree, [1, 2, 3])
        let found = Mutex<[UInt8]?>(nil)
        let waiting = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let bytes = try? arrivals.wait(for: "tree") { () -> [UInt8]? in
                waiting.signal()
                return arrivals.tree(tree)
            }
            found.withLock { $0 = bytes }
            done.signal()
        }
        waiting.wait()
        arrivals.publish(tree: tree, raw: [9, 9])
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(found.withLock { $0 } == [9, 9])

        // A chunk waiter tries again only when rows are committed, not on every tree published.
        let attempts = Mutex(0)
        let chunkDone = DispatchSemaphore(value: 0), tried = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? arrivals.wait(for: "chunk", committedOnly: true) { () -> Bool? in
                let count = attempts.withLock { $0 += 1; return $0 }
                tried.signal()
                return count == 2 ? true : nil
            }
            chunkDone.signal()
        }
        tried.wait()
        let commits = arrivals.commitCount
        for index in 0..<20 { arrivals.publish(tree: BlobID.of(.tree, [UInt8(index)]), raw: [1]) }
        #expect(arrivals.commitCount == commits, "a tree published is not a commit (readers look in the store again only after one)")
        #expect(chunkDone.wait(timeout: .now() + 0.3) == .timedOut, "published trees woke the chunk waiter")
        #expect(attempts.withLock { $0 } == 1)
        arrivals.checkpointed()
        #expect(arrivals.commitCount == commits + 1)
        #expect(chunkDone.wait(timeout: .now() + 10) == .success)
        #expect(attempts.withLock { $0 } == 2)

        arrivals.finish()
        #expect(throws: RepositoryError.self, "ended without it") { try arrivals.wait(for: "tree") { () -> Int? in nil } }
        let failed = BlobArrivals()
        failed.fail(RepositoryError(.io, "cut"))
        #expect(throws: RepositoryError.self) { try failed.wait(for: "chunk") { () -> Int? in nil } }
    }
}
