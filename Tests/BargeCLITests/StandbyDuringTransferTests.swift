import Foundation
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

    @Test func standbyIsWrittenWhileTheSnapshotArrives() async throws {
        let pair = try StorePair("early-standby")
        try Self.fill(pair.volumePath)
        let expected = try Manifest.capture(pair.volumePath)
        let snapshot = try pair.snapshot()
        let standby = pair.root + "/copies/v"
        let build = Build(), replica = pair.b
        let (sent, received) = await pair.replicate(snapshot, onTransfer: { target, arrivals in
            build.start(store: replica, beside: standby, target: target, arrivals: arrivals)
        })
        _ = try sent.get()
        _ = try received.get()
        #expect(build.rootWasInStore.withLock { $0 } == false, "the copy was started before the replica held the snapshot")
        let staging = try build.result()
        try StandbySync.install(staging, at: standby)
        try expectSameTree(expected, standby, "the standby copy written during the transfer")
        #expect(try Self.noStaging(in: pair.root + "/copies"), "no staging left behind")
    }

    @Test func aTransferCutShortLeavesNoCopyAndTheNextOneCompletes() async throws {
        let pair = try StorePair("early-standby-cut")
        try Self.fill(pair.volumePath)
        let expected = try Manifest.capture(pair.volumePath)
        let snapshot = try pair.snapshot()
        let standby = pair.root + "/copies/v"
        let cut = Build(), replica = pair.b
        let (_, failed) = await pair.replicate(snapshot, configure: { _, receiverEnd in receiverEnd.failAfterReceiving = 60 },
                                               onTransfer: { target, arrivals in
            cut.start(store: replica, beside: standby, target: target, arrivals: arrivals)
        })
        #expect(throws: (any Error).self) { try failed.get() }
        #expect(throws: RepositoryError.self, "the build gives up with the transfer") { try cut.result() }
        #expect(!FileManager.default.fileExists(atPath: standby))
        #expect(try Self.noStaging(in: pair.root + "/copies"), "the cut build removed its staging")

        // The next attempt resumes the transfer; its copy reads what the first one kept from the store.
        let build = Build()
        let (sent, received) = await pair.replicate(snapshot, onTransfer: { target, arrivals in
            build.start(store: replica, beside: standby, target: target, arrivals: arrivals)
        })
        _ = try sent.get()
        _ = try received.get()
        try StandbySync.install(try build.result(), at: standby)
        try expectSameTree(expected, standby, "the standby copy after a resumed transfer")
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

        arrivals.finish()
        #expect(throws: RepositoryError.self, "ended without it") { try arrivals.wait(for: "tree") { () -> Int? in nil } }
        let failed = BlobArrivals()
        failed.fail(RepositoryError(.io, "cut"))
        #expect(throws: RepositoryError.self) { try failed.wait(for: "chunk") { () -> Int? in nil } }
    }
}
