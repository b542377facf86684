import Foundation
import Testing
import TestSupport
import Repository
import Snapshots
@testable import Offsite

/// `restore --offsite`: files are written while the snapshot is imported.
@Suite struct StreamingRestoreTests {
    /// Runs a blocking call on its own thread: the import it waits for needs the cooperative pool.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    static func fill(_ fixture: OffsiteFixture) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for index in 0..<12 {
            files["d\(index % 4)/sub\(index % 3)/f\(index).bin"] = randomBytes(300_000 + index * 7_000, seed: UInt64(index) + 900)
        }
        files["d0/small.txt"] = Array("a small file\n".utf8)
        for (path, bytes) in files { try fixture.write(path, bytes) }
        return files
    }

    @Test func aRestoreFromTheBucketWhileItIsImportedIsExactAndKeepsTheHistory() async throws {
        let fixture = try await OffsiteFixture("stream", packSize: 1 << 20)
        let files = try Self.fill(fixture)
        let snapshot = try fixture.snapshot()
        try await fixture.upload(snapshot)
        let repository = try await fixture.open()
        let state = fixture.root + "/bare-state", target = fixture.root + "/restored"
        let outcome = try await Self.onThread {
            try StreamingRestore.run(snapshot, subpath: nil, target: target, storeDirectory: state, makeImporter: {
                OffsiteImporter(store: try Store.initialize(at: state), repository: repository, cache: nil)
            })
        }
        #expect(outcome.imported.packsFetched >= 3, "a tree pack and chunk packs: \(outcome.imported)")
        #expect(outcome.result.statistics.files == files.count)
        #expect(try contents(of: target) == files)
        // A --state-dir store keeps the snapshot, committed with everything under it.
        let kept = try Store(at: state, access: .read)
        #expect(try kept.snapshots(volume: "v").map(\.id) == [snapshot.id])
        #expect(try SnapshotEngine(stateDirectory: state).verify(readData: true).ok)
    }

    @Test func packsComeInTheOrderTheRestoreNeedsThem() async throws {
        let fixture = try await OffsiteFixture("order", packSize: 1 << 20)
        // Uploaded in the reverse of the order a restore needs (z/ first, a/ last), a pack or more each time:
        // neither the upload order nor the packs' names (hashes) give the restore's order but by chance (1 in 24).
        var newest: StoredSnapshot?
        for (round, directory) in ["z", "m", "f", "a"].enumerated() {
            for index in 0..<3 { try fixture.write("\(directory)/f\(index).bin", randomBytes(400_000, seed: UInt64(round * 10 + index) + 500)) }
            newest = try fixture.snapshot()
            try await fixture.upload(newest!)
        }
        let snapshot = try #require(newest)
        let repository = try await fixture.open()
        let remote = try await repository.loadBlobs(cache: nil)
        var walker = RemoteTreeWalker(repository: repository, remote: remote)
        let reached = try await walker.reachable(from: [snapshot.record.root])
        var wanted: [String: [Int]] = [:]
        for id in reached {
            let place = try #require(remote.place(of: id))
            if remote.entry(place).kind == .chunk { wanted[place.pack, default: []].append(place.entry) }
        }
        try #require(wanted.count >= 4, "the order matters only with several packs")
        let order = try walker.packsInRestoreOrder(from: snapshot.record.root, wanted: wanted)
        #expect(order.count == wanted.count && Set(order) == Set(wanted.keys), "each wanted pack once")
        // The oracle: the local trees in the order the restore writes (entries sorted, a directory's
        // contents where it stands), each chunk's pack noted the first time one is needed.
        let local = try Store(at: fixture.state, access: .read)
        let decompressor = Decompressor()
        var expected: [String] = []
        func visit(_ id: BlobID) throws {
            for entry in try Tree.decode(try local.read(id, kind: .tree, using: decompressor)).entries {
                for chunk in entry.chunks {
                    if let pack = remote.place(of: chunk.id)?.pack, !expected.contains(pack) { expected.append(pack) }
                }
                if let subtree = entry.subtree { try visit(subtree) }
            }
        }
        try visit(snapshot.record.root)
        #expect(order == expected)
        let first = try #require(expected.first), last = try #require(expected.last)
        #expect(first != last && wanted[first] != nil && wanted[last] != nil)
    }

    @Test func anImportThatFailsStopsTheRestoreWithItsErrorAndLeavesNothing() async throws {
        let fixture = try await OffsiteFixture("streamfail", packSize: 1 << 20)
        _ = try Self.fill(fixture)
        let snapshot = try fixture.snapshot()
        try await fixture.upload(snapshot)
        try await fixture.damageLargestPack()
        let repository = try await fixture.open()
        let parent = fixture.root + "/bare", state = parent + "/target.barge-import", target = parent + "/target"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let thrown = try await Self.onThread { () -> (any Error)? in
            do {
                _ = try StreamingRestore.run(snapshot, subpath: nil, target: target, storeDirectory: state, makeImporter: {
                    OffsiteImporter(store: try ScratchStore.open(at: state), repository: repository, cache: nil)
                })
                return nil
            } catch { return error }
        }
        let error = try #require(thrown as? OffsiteError, "the import's own error, not the restore's: \(String(describing: thrown))")
        #expect(error.code == .tampered, "\(error)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["target.barge-import"],
                "no target and no staging directory; the scratch store stays for a retry in this boot")
        #expect(try Store(at: state, access: .read).snapshots(volume: nil).isEmpty)
    }

    @Test func aRestoreThatFailsCancelsTheImportAndSaysWhy() async throws {
        let fixture = try await OffsiteFixture("streamstop", packSize: 1 << 20)
        _ = try Self.fill(fixture)
        let snapshot = try fixture.snapshot()
        try await fixture.upload(snapshot)
        let repository = try await fixture.open()
        let state = fixture.root + "/bare-state"
        // The staging directory cannot be made under /proc: the restore fails at once, the import is cancelled.
        let thrown = try await Self.onThread { () -> (any Error)? in
            do {
                _ = try StreamingRestore.run(snapshot, subpath: nil, target: "/proc/barge-test-\(UUID().uuidString)", storeDirectory: state,
                                             makeImporter: { OffsiteImporter(store: try Store.initialize(at: state), repository: repository, cache: nil) })
                return nil
            } catch { return error }
        }
        let error = try #require(thrown as? RepositoryError, "the restore's error, not the cancelled import's: \(String(describing: thrown))")
        #expect(error.message.contains("/proc"), "\(error)")
    }
}
