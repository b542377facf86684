import Foundation
import Testing
import TestSupport
import Repository
import Retention
import S3
import Snapshots
@testable import Offsite

/// Against a real S3-compatible server (moto, signatures checked): round trips, damage of
/// every kind refused, wrong keys and secrets, retention and gc on the copy.
@Suite(.serialized) struct OffsiteBucketTests {
    @Test func aSecondSnapshotSendsOnlyWhatChangedAndBothRestoreByteExact() async throws {
        let fixture = try await OffsiteFixture("roundtrip")
        for index in 0..<30 { try fixture.write("docs/f\(index).txt", randomBytes(20_000 + index * 997, seed: UInt64(index))) }
        try fixture.write("big.bin", randomBytes(3 << 20, seed: 77))
        let first = try fixture.snapshot()
        let expected1 = try contents(of: fixture.volume)
        let up1 = try await fixture.upload(first)
        #expect(up1.blobsUploaded == up1.blobsNeeded && up1.bytesUploaded > 3 << 20, "\(up1)")
        #expect(try await fixture.upload(first).alreadyThere)

        try fixture.write("docs/f3.txt", randomBytes(5_000, seed: 1234))
        let second = try fixture.snapshot()
        let up2 = try await fixture.upload(second)
        #expect(up2.bytesUploaded < 100_000, "only the change goes up: \(up2)")

        let listed = try await fixture.open().snapshots(volume: "v")
        #expect(listed.map(\.id) == [first.id, second.id])
        #expect(try contents(of: try await fixture.restoreOnBareMachine(first, label: "1")) == expected1)
        #expect(try contents(of: try await fixture.restoreOnBareMachine(second, label: "2")) == contents(of: fixture.volume))
        let verify = try await OffsiteVerifier(repository: try await fixture.open(), cache: nil).verify(readData: true)
        #expect(verify.isClean, "\(verify.problems)")
        // Names say nothing but sizes: no chunk id, volume or snapshot id appears.
        for object in try await fixture.objects("") {
            #expect(!object.key.contains(first.id.hex.prefix(16)) && !object.key.contains("v/"), "\(object.key)")
        }
    }

    /// A GET reads at most the caller's bound: an answer one byte longer is refused (by its
    /// Content-Length, before its body is read), one of exactly the bound comes back whole.
    @Test func anAnswerLongerThanTheCallersBoundIsRefused() async throws {
        let fixture = try await OffsiteFixture("bounded-get")
        let body = randomBytes(5 << 20, seed: 9)
        #expect(try await fixture.raw.put("bounded", body, ifAbsent: false) == .stored)
        do {
            _ = try await fixture.raw.get("bounded", maxLength: body.count - 1)
            Issue.record("an answer longer than the bound was read")
        } catch {
            #expect(error.code == .responseTooLarge && error.message.contains("larger than \(body.count - 1) bytes"), "\(error)")
        }
        #expect(try await fixture.raw.get("bounded", maxLength: body.count) == body)
    }

    /// Records stored compressed expand when laid out raw: a pack stays within `pack_size` (a
    /// larger record alone), so no pack outgrows the buffer reserved for it. Before, a run of
    /// adjacent records (up to 4 MiB as stored) went into the pack whole.
    @Test func packsStayWithinThePackSizeWhenCompressedRecordsExpand() async throws {
        let fixture = try await OffsiteFixture("pack-size", packSize: 1 << 20)
        var rng = SplitMix64(seed: 61)
        for index in 0..<8 {   // 16 letters: about half as large compressed, every chunk different
            try fixture.write("t\(index).txt", rng.bytes(2 << 20).map { UInt8(ascii: "a") + $0 & 15 })
        }
        let snapshot = try fixture.snapshot()
        _ = try await fixture.upload(snapshot)
        let packs = try await fixture.open().loadBlobs(cache: nil).packs
        #expect(packs.count >= 16, "\(packs.count) packs")
        for (id, index) in packs {
            #expect(index.plainLength <= 1 << 20 || index.entries.count == 1, "pack \(id): \(index.plainLength) bytes, \(index.entries.count) records")
        }
        #expect(try contents(of: try await fixture.restoreOnBareMachine(snapshot, label: "1")) == contents(of: fixture.volume))
    }

    @Test func largePacksGoUpInPartsAndComeBackWhole() async throws {
        let fixture = try await OffsiteFixture("multipart", packSize: 32 << 20, partSize: 5 << 20)
        try fixture.write("big.bin", randomBytes(13 << 20, seed: 21))
        let snapshot = try fixture.snapshot()
        let report = try await fixture.upload(snapshot)
        #expect(report.packsUploaded == 2, "one chunk pack of 13 MiB (three parts) and one tree pack: \(report)")
        let packs = try await fixture.objects(ObjectName.dataPrefix)
        #expect(packs.map(\.size).max() ?? 0 > 13 << 20)
        #expect(try contents(of: try await fixture.restoreOnBareMachine(snapshot, label: "mp")) == contents(of: fixture.volume))
    }

    enum Damage: String, CaseIterable, Sendable {
        case flippedByteInPack, truncatedPack, packSwappedWithAnother, flippedByteInIndex, oldCatalogUnderNewerName, foreignObject
    }

    @Test(arguments: Damage.allCases)
    func damagedObjectsAreRefusedAndNothingIsRestored(_ damage: Damage) async throws {
        let fixture = try await OffsiteFixture("damage", packSize: 1 << 20)
        try fixture.write("a.bin", randomBytes(2 << 20, seed: 5))
        let first = try fixture.snapshot()
        try await fixture.upload(first)
        try fixture.write("b.bin", randomBytes(1 << 20, seed: 6))
        let second = try fixture.snapshot()
        try await fixture.upload(second)
        let packs = try await fixture.objects(ObjectName.dataPrefix).map(\.key).sorted()
        let indexes = try await fixture.objects(ObjectName.indexPrefix).map(\.key).sorted()
        try #require(packs.count >= 3)
        switch damage {
        case .flippedByteInPack:
            for pack in packs {
                var bytes = try await fixture.rawGet(pack)
                bytes[bytes.count / 2] ^= 0x40
                try await fixture.rawPut(pack, bytes)
            }
        case .truncatedPack:
            for pack in packs { try await fixture.rawPut(pack, Array(try await fixture.rawGet(pack).dropLast(100))) }
        case .packSwappedWithAnother:
            let (a, b) = (try await fixture.rawGet(packs[0]), try await fixture.rawGet(packs[1]))
            try await fixture.rawPut(packs[0], b)
            try await fixture.rawPut(packs[1], a)
        case .flippedByteInIndex:
            var bytes = try await fixture.rawGet(indexes[0])
            bytes[20] ^= 1
            try await fixture.rawPut(indexes[0], bytes)
        case .oldCatalogUnderNewerName:
            // Generation 1 (the first snapshot only) put back where generation 2 is.
            try await fixture.rawPut(ObjectName.catalog(2), try await fixture.rawGet(ObjectName.catalog(1)))
        case .foreignObject:
            for pack in packs { try await fixture.rawPut(pack, Array("not barge".utf8)) }
        }
        let bare = try Store.initialize(at: fixture.root + "/bare")
        await #expect(throws: OffsiteError.self) {
            let repository = try await fixture.open()
            let listed = try await repository.snapshots(volume: "v")
            for snapshot in listed {
                _ = try await OffsiteImporter(store: bare, repository: repository, cache: nil).importSnapshot(snapshot)
            }
        }
        // Not every snapshot can need the damaged object, but the damaged one is never stored.
        if damage == .flippedByteInPack || damage == .truncatedPack || damage == .foreignObject {
            #expect(try bare.snapshots(volume: nil).isEmpty)
        }
        let verify = try? await OffsiteVerifier(repository: try await fixture.open(), cache: nil).verify(readData: true)
        #expect(verify.map { !$0.isClean } ?? true, "verify --read-data finds the damage (or refuses to open the catalog)")
    }

    /// Trees are stored last, children first: an import cut short by a bad chunk pack leaves
    /// no tree whose contents are missing (replication would take such a tree as complete).
    @Test func anImportCutShortStoresNoTreeWithoutItsContents() async throws {
        let fixture = try await OffsiteFixture("order", packSize: 1 << 20)
        for index in 0..<6 { try fixture.write("d\(index)/f.bin", randomBytes(700_000, seed: UInt64(index))) }
        let snapshot = try fixture.snapshot()
        try await fixture.upload(snapshot)
        try await fixture.damageLargestPack()
        let bare = try Store.initialize(at: fixture.root + "/bare")
        await #expect(throws: OffsiteError.self) {
            _ = try await OffsiteImporter(store: bare, repository: try await fixture.open(), cache: nil).importSnapshot(snapshot)
        }
        #expect(try bare.index.locations(of: [snapshot.record.root]).isEmpty, "no tree was stored before every chunk was")
        #expect(try bare.snapshots(volume: nil).isEmpty)
    }

    @Test func aDeletedNewerCatalogIsARollBackWhereItWasSeen() async throws {
        let fixture = try await OffsiteFixture("rollback")
        try fixture.write("a", randomBytes(10_000, seed: 1))
        try await fixture.upload(try fixture.snapshot())
        try fixture.write("a", randomBytes(10_000, seed: 2))
        let memory = fixture.root + "/memory"
        let repository = try await fixture.open(memory: memory)
        let second = try fixture.snapshot()
        _ = try await OffsiteUploader(store: try Store(at: fixture.state, access: .read), repository: repository, cache: nil).upload(second)
        try await fixture.raw.delete(fixture.target.prefix + ObjectName.catalog(2))
        let error = await #expect(throws: OffsiteError.self) { _ = try await repository.snapshots(volume: "v") }
        #expect(error?.code == .rolledBack, "\(String(describing: error))")
        // A bare machine has no memory: it sees generation 1, which is authentic.
        #expect(try await fixture.open().snapshots(volume: "v").count == 1)
    }

    /// A gc that raised its flag and died must not stop uploads for good; gc keeps the newest
    /// catalog generations only (both stated in design.md).
    @Test(.timeLimit(.minutes(1)))
    func aGCThatDiedStopsNoUploadAndOldCatalogsGo() async throws {
        let fixture = try await OffsiteFixture("staleflag")
        try fixture.write("a", randomBytes(10_000, seed: 1))
        try await fixture.upload(try fixture.snapshot())
        let repository = try await fixture.open()
        var dead = try await repository.latestCatalog()
        dead.generation += 1
        dead.collections += 1
        dead.collectingSince = Clock.wallNanoseconds() - Catalog.staleCollection - 3_600_000_000_000
        #expect(try await repository.commit(dead))
        try fixture.write("a", randomBytes(10_000, seed: 2))
        let second = try fixture.snapshot()
        try await fixture.upload(second)
        #expect(try await repository.latestCatalog().snapshots.contains { $0.id == second.id })

        for _ in 0..<10 {
            var next = try await repository.latestCatalog()
            next.generation += 1
            #expect(try await repository.commit(next))
        }
        _ = try await OffsiteCollector(repository: repository, cache: nil).collect()
        let generations = try await repository.catalogGenerations()
        #expect(generations.count == OffsiteCollector.catalogsKept + 1, "the newest 8 and the one that lowered the flag: \(generations)")
        #expect(try await repository.latestCatalog().collecting == false)
        #expect(try contents(of: try await fixture.restoreOnBareMachine(second, label: "s")) == contents(of: fixture.volume))
    }

    @Test func aWrongKeyOrSecretIsAClearError() async throws {
        let fixture = try await OffsiteFixture("keys")
        _ = try OffsiteKey.generate(path: fixture.root + "/other")
        var other = fixture.target
        other.keyFile = fixture.root + "/other"
        let wrongKey = await #expect(throws: OffsiteError.self) { _ = try await OffsiteRepository.open(other) }
        #expect(wrongKey?.code == .badKey && wrongKey?.message.contains("does not open") == true, "\(String(describing: wrongKey))")

        var badSecret = fixture.target
        badSecret.credentials = S3Credentials(accessKeyID: fixture.server.accessKeyID, secretAccessKey: "wrong")
        let refused = await #expect(throws: OffsiteError.self) { _ = try await OffsiteRepository.open(badSecret) }
        #expect(refused?.code == .storage && refused?.hint?.contains("credentials") == true, "\(String(describing: refused))")
        #expect((refused?.underlying as? S3Error)?.serverCode == "SignatureDoesNotMatch")
    }

    @Test func retentionAndGCOnTheCopyKeepEverythingAListedSnapshotNeeds() async throws {
        let fixture = try await OffsiteFixture("retention", packSize: 1 << 20)
        try fixture.write("shared.bin", randomBytes(1 << 20, seed: 3))
        var snapshots: [(StoredSnapshot, [String: [UInt8]])] = []
        for round in 0..<5 {
            try fixture.write("churn.bin", randomBytes(400_000, seed: UInt64(100 + round)))
            try fixture.write("log/\(round).txt", randomBytes(3_000, seed: UInt64(200 + round)))
            let snapshot = try fixture.snapshot()
            try await fixture.upload(snapshot)
            snapshots.append((snapshot, try contents(of: fixture.volume)))
        }
        let before = try await fixture.objects(ObjectName.dataPrefix).reduce(0) { $0 + $1.size }
        let repository = try await fixture.open()
        let collector = OffsiteCollector(repository: repository, cache: fixture.root + "/cache")
        let forgot = try await collector.forget(volume: "v", policy: RetentionPolicy(last: 2), dryRun: false)
        #expect(forgot.forgotten.count == 3)
        let gc = try await collector.collect()
        let after = try await fixture.objects(ObjectName.dataPrefix).reduce(0) { $0 + $1.size }
        #expect(after < before - 900_000, "gc reclaimed the forgotten churn: \(before) -> \(after), \(gc)")
        #expect(try await repository.latestCatalog().collecting == false)
        let verify = try await OffsiteVerifier(repository: repository, cache: nil).verify(readData: true)
        #expect(verify.isClean, "\(verify.problems)")
        for (index, (snapshot, expected)) in snapshots.suffix(2).enumerated() {
            #expect(try contents(of: try await fixture.restoreOnBareMachine(snapshot, label: "kept\(index)")) == expected)
        }
        // A new upload after the gc reuses what is left and restores too.
        try fixture.write("late.bin", randomBytes(10_000, seed: 9))
        let late = try fixture.snapshot()
        try await fixture.upload(late)
        #expect(try contents(of: try await fixture.restoreOnBareMachine(late, label: "late")) == contents(of: fixture.volume))

        // A pack whose index never came (an upload killed between the two puts) goes at the
        // second gc that finds it so, never at the first (an upload may be between them).
        let orphan = ObjectName.pack(ObjectName.newPackID())
        try await fixture.rawPut(orphan, randomBytes(1000, seed: 4))
        let first = try await collector.collect()
        let afterFirst = try await fixture.objects(orphan)
        #expect(first.orphansDeleted == 0 && afterFirst.count == 1, "\(first)")
        let second = try await collector.collect()
        let afterSecond = try await fixture.objects(orphan)
        #expect(second.orphansDeleted == 1 && afterSecond.isEmpty, "\(second)")
        let clean = try await OffsiteVerifier(repository: repository, cache: nil).verify(readData: true).isClean
        #expect(clean)
    }

    @Test func anUploadThatReusedBlobsAGCDeletedSendsThemAgain() async throws {
        let fixture = try await OffsiteFixture("gcrace", packSize: 1 << 20)
        try fixture.write("a.bin", randomBytes(600_000, seed: 11))
        try await fixture.upload(try fixture.snapshot())
        try FileManager.default.removeItem(atPath: fixture.volume + "/a.bin")
        try await fixture.upload(try fixture.snapshot())
        let repository = try await fixture.open()
        // The first snapshot is forgotten on the copy: a.bin's packs are dead but still there.
        _ = try await OffsiteCollector(repository: repository, cache: nil).forget(volume: "v", policy: RetentionPolicy(last: 1), dryRun: false)
        #expect(try await repository.snapshots(volume: "v").count == 1)
        // a.bin comes back: the uploader finds its chunks in the bucket and reuses them.
        try fixture.write("a.bin", randomBytes(600_000, seed: 11))
        try fixture.write("b.bin", randomBytes(1000, seed: 12))
        let second = try fixture.snapshot()
        // gc runs after the uploader decided to reuse the dead packs' blobs and before it
        // lists its snapshot: it must notice and send them again.
        let store = try Store(at: fixture.state, access: .read)
        let uploader = OffsiteUploader(store: store, repository: repository, cache: nil, progress: nil) {
            let gc = try await OffsiteCollector(repository: repository, cache: nil).collect()
            #expect(gc.packsDeleted >= 1, "the reused packs were dead and went: \(gc)")
        }
        let report = try await uploader.upload(second)
        #expect(report.blobsUploaded >= report.blobsNeeded, "everything the gc deleted was sent again: \(report)")
        #expect(try contents(of: try await fixture.restoreOnBareMachine(second, label: "after")) == contents(of: fixture.volume))
    }
}
