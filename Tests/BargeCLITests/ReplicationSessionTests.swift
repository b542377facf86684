import Foundation
import Replication
import Repository
import Snapshots
import Synchronization
import Testing
import TestSupport
import Wire

#if canImport(Glibc)
import Glibc
#endif

/// Sender and receiver over an in-memory pipe: the protocol's logic without
/// TLS or processes (the agent tests cover those).
@Suite struct ReplicationSessionTests {
    private func restoreMatches(_ pair: StorePair, _ snapshot: StoredSnapshot, _ expected: Manifest, _ what: String) throws {
        let target = pair.root + "/restore-\(snapshot.id.short)"
        _ = try Restorer(store: pair.b).restore(snapshot, subpath: nil, to: target)
        try expectSameTree(expected, target, what)
    }

    @Test func fullThenIncrementalWithDeltas() async throws {
        let pair = try StorePair("full")
        try TreeGenerator(seed: 7).build(at: pair.volumePath)
        let state1 = try Manifest.capture(pair.volumePath)
        let first = try pair.snapshot()
        let (sent1, received1) = await pair.replicate(first)
        let outcome1 = try sent1.get()
        #expect(try received1.get().snapshot == first.id)
        #expect(!outcome1.alreadyThere && outcome1.chunksStored > 0 && outcome1.trees > 0)
        #expect(try pair.b.index.snapshot(first.id)?.record == first.record, "the replica holds the same record")
        try restoreMatches(pair, first, state1, "replica, snapshot 1")

        // Scattered small edits in a big random file: chunks travel as deltas.
        let big = pair.volumePath + "/data/big-random.bin"
        let handle = try #require(FileHandle(forUpdatingAtPath: big))
        for offset in stride(from: 10_000, to: 3 << 20, by: 400_000) {
            try handle.seek(toOffset: UInt64(offset))
            handle.write(Data("edited by the replication test".utf8))
        }
        try handle.close()
        let state2 = try Manifest.capture(pair.volumePath)
        let second = try pair.snapshot()
        let outcome2 = try await pair.replicate(second).0.get()
        #expect(outcome2.chunksDelta >= 5, "\(outcome2)")
        #expect(outcome2.treesDelta >= 1, "the changed directories' trees travel as deltas too: \(outcome2)")
        #expect(outcome2.bytesSent < 20_000, "8 edits of 30 bytes cost \(outcome2.bytesSent) bytes")
        try restoreMatches(pair, second, state2, "replica, snapshot 2")

        // Offering it again costs one round trip.
        let again = try await pair.replicate(second).0.get()
        #expect(again.alreadyThere && again.bytesSent < 1024)
        let report = try SnapshotEngine(stateDirectory: pair.b.directory).verify(readData: true)
        #expect(report.ok, "\(report.damaged)")
    }

    /// The replica asks for chunks many at a time: refilled blob by blob, each
    /// `wantChunks` named one chunk and the owner answered it alone, with an index
    /// transaction of its own. Trees are still asked for as soon as they are known.
    @Test func chunksAreAskedForInBatches() async throws {
        let pair = try StorePair("batches")
        var rng = SplitMix64(seed: 31)
        for directory in 0..<6 {
            let path = pair.volumePath + "/d\(directory)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for index in 0..<500 { try Data(rng.bytes(600 + rng.below(3000))).write(to: URL(fileURLWithPath: path + "/f\(index)")) }
        }
        let expected = try Manifest.capture(pair.volumePath)
        let snapshot = try pair.snapshot()
        let sizes = Mutex<[Int]>([])
        let (sent, received) = await pair.replicate(snapshot, configure: { _, receiverEnd in
            receiverEnd.tamper = { message in
                if case let .wantChunks(requests) = message { sizes.withLock { $0.append(requests.count) } }
                return message
            }
        })
        #expect(try sent.get().chunksStored == 3000)
        _ = try received.get()
        let counts = sizes.withLock { $0 }
        #expect(counts.reduce(0, +) == 3000)
        // While the trees arrive (500 chunks each) and at the end a message may name fewer; the
        // refills in between name 256 (blob by blob, about 2,000 messages named one each).
        #expect(counts.count <= 3000 / 256 + 8, "\(counts.count) wantChunks messages: \(counts)")
        #expect(counts.filter { $0 < 256 }.count <= 8, "\(counts)")
        try restoreMatches(pair, snapshot, expected, "replica after batched requests")
    }

    @Test func anInterruptedTransferResumesWithoutResending() async throws {
        let pair = try StorePair("resume")
        var rng = SplitMix64(seed: 11)
        for index in 0..<6 { try Data(rng.bytes(5 << 20)).write(to: URL(fileURLWithPath: pair.volumePath + "/f\(index).bin")) }
        let snapshot = try pair.snapshot()
        // The receiver's connection breaks after 250 blobs (~15 MiB, past a checkpoint).
        let (sent, received) = await pair.replicate(snapshot) { _, receiverEnd in receiverEnd.failAfterReceiving = 250 }
        #expect(throws: (any Error).self) { try sent.get() }
        #expect(throws: (any Error).self) { try received.get() }
        #expect(try pair.b.index.snapshot(snapshot.id) == nil, "no snapshot without all of its data")
        let kept = try pair.b.index.blobCount()
        // Checkpoints every 8 MiB keep most; the rest is committed when the connection breaks.
        #expect(kept >= 240, "every verified chunk was committed when the transfer broke (\(kept) of 250)")

        let resumed = try await pair.replicate(snapshot).0.get()
        #expect(resumed.chunksStored + resumed.chunksDelta <= 480 - 240, "\(resumed)")
        #expect(resumed.bytesSent < 16 << 20, "resent \(resumed.bytesSent) of 30 MiB")
        #expect(try pair.b.index.snapshot(snapshot.id) != nil)
        let report = try SnapshotEngine(stateDirectory: pair.b.directory).verify(readData: true)
        #expect(report.ok, "\(report.damaged)")
    }

    @Test(arguments: [WireError.Code.staleEpoch, .notOwner, .unknownVolume])
    func aRefusedOfferChangesNothing(_ code: WireError.Code) async throws {
        let pair = try StorePair("refuse")
        try Data("content".utf8).write(to: URL(fileURLWithPath: pair.volumePath + "/file"))
        let snapshot = try pair.snapshot()
        let before = try pair.b.index.blobCount()
        let (sent, _) = await pair.replicate(snapshot, policy: RefuseAll(code: code))
        #expect {
            try sent.get()
        } throws: { error in
            guard case let .peer(wire) = error as? ReplicationError else { return false }
            return wire.code == code
        }
        #expect(try pair.b.index.blobCount() == before)
        #expect(try pair.b.snapshots(volume: "v").isEmpty)
    }

    /// A compressed payload longer than its codec's bound for the stated length is refused before
    /// it is decoded. zstd's padding is a skippable frame, which decodes to the same bytes: kept as
    /// sent, it would be a record whose header no reader accepts (design.md, *Packs*).
    @Test(arguments: [BlobEncoding.zstd, .lz4])
    func aCompressedChunkLongerThanItsCodecsBoundIsRefused(_ encoding: BlobEncoding) async throws {
        let codec: Compression = encoding == .lz4 ? .lz4 : .zstd
        let pair = try StorePair("bound", codecs: (codec, codec))
        let text = (0..<20_000).map { "line \($0) of a log nobody reads\n" }.joined()
        try Data(text.utf8).write(to: URL(fileURLWithPath: pair.volumePath + "/log.txt"))
        let snapshot = try pair.snapshot()
        let (sent, received) = await pair.replicate(snapshot) { senderEnd, _ in
            senderEnd.tamper = { message in
                guard case var .blob(blob) = message, blob.kind == .chunk, blob.encoding == encoding else { return message }
                let missing = codec.maximumStoredLength(rawLength: Int(blob.rawLength)) + 1 - blob.payload.count
                if encoding == .zstd {
                    let length = UInt32(max(0, missing - 8))
                    blob.payload += [0x50, 0x2A, 0x4D, 0x18] + withUnsafeBytes(of: length.littleEndian) { Array($0) }
                    blob.payload += [UInt8](repeating: 0, count: Int(length))
                } else {
                    blob.payload += [UInt8](repeating: 0, count: missing)
                }
                return .blob(blob)
            }
        }
        #expect(throws: (any Error).self) { try sent.get() }
        #expect {
            try received.get()
        } throws: { error in
            (error as? ReplicationError)?.wire.code == .limitExceeded
        }
        #expect(try pair.b.snapshots(volume: "v").isEmpty)
    }

    /// Chunks travel as the owner stored them and are kept so; deltas the replica patches are
    /// stored with its own codec. Every pair of codecs restores the same tree.
    @Test(arguments: [(Compression.lz4, Compression.zstd), (.zstd, .lz4), (.lz4, .lz4)])
    func storesOfEitherCodecReplicateToEachOther(_ codecs: (owner: Compression, replica: Compression)) async throws {
        let pair = try StorePair("codecs", codecs: codecs)
        try TreeGenerator(seed: 11).build(at: pair.volumePath)
        let expected = try Manifest.capture(pair.volumePath)
        let snapshot = try pair.snapshot()
        _ = try await pair.replicate(snapshot).0.get()
        try restoreMatches(pair, snapshot, expected, "replica of a \(codecs.owner.name) owner in a \(codecs.replica.name) store")
        var kept: Set<Compression> = []
        try pair.b.index.allBlobs { location in if location.kind == .chunk { kept.insert(location.compression) } }
        // A first replication has no basis for deltas: every compressed chunk came as the owner stored it.
        #expect(kept.subtracting([.none]) == [codecs.owner], "chunks are kept as the owner sent them: \(kept)")
        let report = try SnapshotEngine(stateDirectory: pair.b.directory).verify(readData: true)
        #expect(report.ok, "\(report.damaged)")
    }

    /// A chunk the sender altered on the way, sent raw (random bytes) or compressed as stored
    /// (text, in a zstd or an lz4 store): it decodes to other bytes or none, so it is refused
    /// and nothing is committed.
    @Test(arguments: [BlobEncoding.raw, .zstd, .lz4])
    func tamperedChunkBytesAreRefusedAndNothingIsCommitted(_ encoding: BlobEncoding) async throws {
        let codec: Compression = encoding == .lz4 ? .lz4 : .zstd
        let pair = try StorePair("tamper", codecs: (codec, codec))
        if encoding == .raw {
            var rng = SplitMix64(seed: 5)
            try Data(rng.bytes(600_000)).write(to: URL(fileURLWithPath: pair.volumePath + "/data.bin"))
        } else {
            let text = (0..<20_000).map { "line \($0) of a log nobody reads\n" }.joined()
            try Data(text.utf8).write(to: URL(fileURLWithPath: pair.volumePath + "/log.txt"))
        }
        let snapshot = try pair.snapshot()
        let tampered = Mutex(0)
        let (sent, received) = await pair.replicate(snapshot) { senderEnd, _ in
            senderEnd.tamper = { message in
                guard case var .blob(blob) = message, blob.kind == .chunk, blob.encoding == encoding else { return message }
                blob.payload[blob.payload.count / 2] ^= 0x40
                tampered.withLock { $0 += 1 }
                return .blob(blob)
            }
        }
        #expect(tampered.withLock { $0 } > 0, "the owner sent its chunks \(encoding)")
        #expect(throws: (any Error).self) { try sent.get() }
        #expect {
            try received.get()
        } throws: { error in
            (error as? ReplicationError)?.wire.code == .corruptData
        }
        #expect(try pair.b.snapshots(volume: "v").isEmpty)
        let report = try SnapshotEngine(stateDirectory: pair.b.directory).verify(readData: true)
        #expect(report.ok, "whatever was kept is intact: \(report.damaged)")
    }

    @Test func aBasisOnlyTheReplicaHasTravelsAsASignature() async throws {
        let pair = try StorePair("diverged")
        var rng = SplitMix64(seed: 9)
        let original = rng.bytes(1 << 20)
        // The replica took its own snapshot of a copy the owner never stored.
        try Data(original).write(to: URL(fileURLWithPath: pair.volumePath + "/db"))
        _ = try pair.snapshot(pair.b)
        var edited = original
        for offset in stride(from: 1000, to: edited.count, by: 90_000) { edited[offset] ^= 0xFF }
        try Data(edited).write(to: URL(fileURLWithPath: pair.volumePath + "/db"))
        let expected = try Manifest.capture(pair.volumePath)
        let snapshot = try pair.snapshot()
        let outcome = try await pair.replicate(snapshot).0.get()
        #expect(outcome.chunksDelta > 0, "\(outcome)")
        #expect(outcome.bytesSent < 1 << 19, "sent \(outcome.bytesSent) for a 1 MiB file with 12 flipped bytes")
        try restoreMatches(pair, snapshot, expected, "replica after signature deltas")
    }
}
