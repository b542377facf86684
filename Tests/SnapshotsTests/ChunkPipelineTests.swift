import Foundation
import Testing
import TestSupport
import Repository
@testable import Snapshots

/// The hashing thread looks chunks up in the index while the storing thread
/// may still be appending (or committing) the same ones for an earlier batch:
/// a chunk must still be stored exactly once.
@Suite struct ChunkPipelineTests {
    /// Batch and checkpoint sizes as small as one chunk, so that the same
    /// chunks meet in consecutive batches on both sides of checkpoints.
    @Test(arguments: [(batch: 1, checkpoint: 1), (batch: 4096, checkpoint: 8192), (batch: 65536, checkpoint: 1 << 30)])
    func aChunkInManyBatchesIsStoredOnce(_ sizes: (batch: Int, checkpoint: Int)) throws {
        let root = NSTemporaryDirectory() + "barge-pipeline-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try Store.initialize(at: root)
        let writer = BlobWriter(store: store, checkpointBytes: sizes.checkpoint)
        let pipeline = ChunkPipeline(writer: writer, workers: 2, compressionLevel: 1, maximumChunk: 4096, batchBytes: sizes.batch)
        let distinct = (0..<3).map { randomBytes(3000, seed: UInt64($0)) }
        var files: [ChunkPipeline.PendingFile] = []
        for round in 0..<60 {
            let file = ChunkPipeline.PendingFile()
            for chunk in [distinct[round % 3], distinct[(round + 1) % 3]] {
                try chunk.withUnsafeBytes { try pipeline.add($0, to: file) }
            }
            files.append(file)
        }
        try pipeline.finish()
        try writer.checkpoint()
        #expect(pipeline.chunksAdded == 3)
        let ids = distinct.map { BlobID.of(.chunk, $0) }
        let locations = try store.index.locations(of: ids)
        #expect(locations.count == 3)
        let recordBytes = locations.values.reduce(0) { $0 + PackFormat.headerLength + $1.storedLength }
        #expect(writer.bytesWritten == recordBytes, "no record written twice")
        for (round, file) in files.enumerated() {
            #expect(file.chunks.map(\.id) == [ids[round % 3], ids[(round + 1) % 3]], "chunk refs in order")
        }
    }
}

/// Restore's three stages with more files than may be open at once (256):
/// the walking thread waits for files to close, and a bad chunk met there
/// stops everything cleanly.
@Suite struct RestoreSinkTests {
    @Test(arguments: [false, true])
    func manyFilesRestoreOrFailCleanly(_ corrupt: Bool) throws {
        let fixture = try Fixture()
        let contents = (0..<700).map { randomBytes(2000 + $0, seed: UInt64($0)) }
        for (index, bytes) in contents.enumerated() { try fixture.write("d\(index / 100)/f\(index)", bytes) }
        _ = try fixture.engine.snapshot(volume: "v")
        if corrupt {
            let store = try Store(at: fixture.state, access: .read)
            let location = try #require(try store.index.locations(of: [BlobID.of(.chunk, contents[500])]).values.first)
            let fd = open(store.packPath(location.pack), O_RDWR)
            defer { close(fd) }
            var byte: UInt8 = 0
            let offset = off_t(location.offset + PackFormat.headerLength + location.storedLength / 2)
            #expect(pread(fd, &byte, 1, offset) == 1)
            byte ^= 0xFF
            #expect(pwrite(fd, &byte, 1, offset) == 1)
        }
        let target = fixture.root + "/restored"
        do {
            _ = try fixture.engine.restore(volume: "v", .latest, subpath: nil, target: target)
            #expect(!corrupt, "a flipped chunk must fail the restore")
            for (index, bytes) in contents.enumerated() {
                #expect(fixture.read(target + "/d\(index / 100)/f\(index)") == bytes)
            }
        } catch let error as RepositoryError {
            #expect(corrupt, "\(error)")
            #expect(error.code == .corrupt && error.message.contains("f500"), "\(error)")
            #expect(!FileManager.default.fileExists(atPath: target), "no half-written target")
            let left = try FileManager.default.contentsOfDirectory(atPath: fixture.root).filter { $0.hasPrefix(".barge-restore") }
            #expect(left.isEmpty, "no staging directory left: \(left)")
        }
    }
}
