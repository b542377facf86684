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
        let pipeline = ChunkPipeline(writer: writer, workers: 2, codec: store.compression, compressionLevel: 1,
                                     maximumChunk: 4096, batchBytes: sizes.batch)
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
