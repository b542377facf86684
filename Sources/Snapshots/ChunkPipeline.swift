import Repository

/// Takes chunks in scan order and stores the new ones, a batch at a time:
/// hash all (parallel), look up which are new (one query), compress the new
/// ones (parallel), append them to the pack (serial, in order).
///
/// Memory is bounded by `batchBytes`, whatever the volume size.
final class ChunkPipeline {
    /// Receives a file's chunk refs, in order, as batches are stored.
    final class PendingFile {
        var chunks: [ChunkRef] = []
    }

    private let writer: BlobWriter
    private let workers: Int
    private let compressors: [Compressor]
    private let batchBytes: Int
    private var batch: [UInt8] = []
    private var items: [(offset: Int, length: Int, file: PendingFile)] = []

    private(set) var chunksAdded = 0
    private(set) var rawBytesAdded = 0

    init(writer: BlobWriter, workers: Int, compressionLevel: Int32, batchBytes: Int = 8 << 20) {
        self.writer = writer
        self.workers = max(1, workers)
        self.compressors = (0..<max(1, workers)).map { _ in Compressor(level: compressionLevel) }
        self.batchBytes = batchBytes
        batch.reserveCapacity(batchBytes + PackFormat.maxChunkLength)
    }

    func add(_ chunk: UnsafeRawBufferPointer, to file: PendingFile) throws {
        if !items.isEmpty && batch.count + chunk.count > batchBytes { try flush() }
        items.append((batch.count, chunk.count, file))
        batch.append(contentsOf: chunk)
    }

    /// Stores everything added so far; afterwards every PendingFile is complete.
    func flush() throws {
        guard !items.isEmpty else { return }
        defer {
            batch.removeAll(keepingCapacity: true)
            items.removeAll(keepingCapacity: true)
        }
        let count = items.count
        let ids = hashAll()

        var firstIndex: [BlobID: Int] = [:]
        for index in 0..<count {
            items[index].file.chunks.append(ChunkRef(id: ids[index], length: items[index].length))
            if firstIndex[ids[index]] == nil { firstIndex[ids[index]] = index }
        }
        let known = try writer.known(Array(firstIndex.keys))
        let fresh = firstIndex.filter { !known.contains($0.key) }.map(\.value).sorted()
        guard !fresh.isEmpty else { return }

        let packed = compress(fresh)
        try batch.withUnsafeBytes { raw in
            for (slot, index) in fresh.enumerated() {
                let item = items[index]
                let source = UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + item.length])
                if let compressed = packed[slot] {
                    try compressed.withUnsafeBytes { payload in
                        try writer.append(id: ids[index], kind: .chunk, rawLength: item.length, compression: .zstd, payload: payload)
                    }
                } else {
                    try writer.append(id: ids[index], kind: .chunk, rawLength: item.length, compression: .none, payload: source)
                }
                chunksAdded += 1
                rawBytesAdded += item.length
            }
        }
    }

    private func hashAll() -> [BlobID] {
        let count = items.count
        var ids = [BlobID?](repeating: nil, count: count)
        batch.withUnsafeBytes { raw in
            ids.withUnsafeMutableBufferPointer { out in
                items.withUnsafeBufferPointer { items in
                    Parallel.forEach(count, workers: workers) { index, _ in
                        let item = items[index]
                        out[index] = BlobID.hash(UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + item.length]))
                    }
                }
            }
        }
        return ids.map { $0! }
    }

    /// Compressed payloads for the given item indices; nil where raw is smaller.
    private func compress(_ indices: [Int]) -> [[UInt8]?] {
        var results = [[UInt8]?](repeating: nil, count: indices.count)
        batch.withUnsafeBytes { raw in
            results.withUnsafeMutableBufferPointer { out in
                items.withUnsafeBufferPointer { items in
                    Parallel.forEach(indices.count, workers: workers) { slot, worker in
                        let item = items[indices[slot]]
                        out[slot] = compressors[worker].compress(UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + item.length]))
                    }
                }
            }
        }
        return results
    }
}
