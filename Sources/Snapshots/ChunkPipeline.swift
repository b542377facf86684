import Dispatch
import Repository
import Synchronization

/// Stores a scan's chunks and trees on a processing thread while the scanner
/// keeps reading: reading and cutting (scanner thread) overlap with hashing,
/// compressing and writing (processing thread plus its parallel workers).
///
/// Work goes in batches: chunks hashed in parallel, looked up once, the new
/// ones compressed in parallel and appended in order; then the batch's tree
/// jobs, which need those chunks' ids. Jobs run in submission order, so a
/// directory's tree is built after its files' chunks and its subdirectories'
/// trees. At most three batches exist at a time, so memory stays bounded.
///
/// Threading contract: `add`, `buildTree` and `finish` are called from one
/// thread. `PendingFile` and `PendingTree` are written and read only on the
/// processing thread until `finish` returns.
final class ChunkPipeline: @unchecked Sendable {
    /// Receives a file's chunk refs, in order, as batches are stored.
    final class PendingFile: @unchecked Sendable {
        var chunks: [ChunkRef] = []
    }

    /// A directory whose tree id is known once its job has run.
    final class PendingTree: @unchecked Sendable {
        var id: BlobID?
        /// The same directory's tree in the parent snapshot: if the new tree
        /// hashes the same, it is stored already and needs no lookup.
        let previous: BlobID?
        init(previous: BlobID?) { self.previous = previous }
    }

    private struct TreeJob {
        var entries: [TreeEntry]
        let files: [(index: Int, file: PendingFile)]
        let subtrees: [(index: Int, tree: PendingTree)]
        let result: PendingTree
    }

    private final class Batch: @unchecked Sendable {
        var bytes: [UInt8]
        var items: [(offset: Int, length: Int, file: PendingFile)] = []
        var trees: [TreeJob] = []
        init(bytes: [UInt8]) { self.bytes = bytes }
    }

    private let writer: BlobWriter
    private let workers: Int
    private let compressors: [Compressor]
    private let treeCompressor: Compressor
    private let batchBytes: Int
    private let queue = DispatchQueue(label: "barge.chunk-pipeline")
    /// Two batches queued or processing while a third fills: enough to keep
    /// both cores busy through the serial steps, 3 × 4 MiB at most.
    private let slots = DispatchSemaphore(value: 2)
    /// Batch buffers handed back by the processing thread, for reuse.
    private let spares = Mutex<[[UInt8]]>([])
    private let capacity: Int
    private let failure = Mutex<(any Error)?>(nil)
    private var current: Batch

    // Written on the processing thread; read after `finish`.
    private(set) var chunksAdded = 0
    private(set) var chunkBytesNew = 0
    private(set) var treesAdded = 0

    init(writer: BlobWriter, workers: Int, compressionLevel: Int32, maximumChunk: Int, batchBytes: Int = 4 << 20) {
        self.writer = writer
        self.workers = max(1, workers)
        self.compressors = (0..<max(1, workers)).map { _ in Compressor(level: compressionLevel) }
        self.treeCompressor = Compressor(level: compressionLevel)
        self.batchBytes = batchBytes
        self.capacity = batchBytes + maximumChunk
        current = Batch(bytes: [])
        current.bytes.reserveCapacity(capacity)
    }

    func add(_ chunk: UnsafeRawBufferPointer, to file: PendingFile) throws {
        if !current.items.isEmpty && current.bytes.count + chunk.count > batchBytes { try submit() }
        current.items.append((current.bytes.count, chunk.count, file))
        current.bytes.append(contentsOf: chunk)
    }

    /// Queues the tree of a directory: `entries` get their chunks and subtree
    /// ids filled in from `files` and `subtrees` once those are known.
    func buildTree(entries: [TreeEntry], files: [(index: Int, file: PendingFile)],
                   subtrees: [(index: Int, tree: PendingTree)], previous: BlobID?) throws -> PendingTree {
        let result = PendingTree(previous: previous)
        current.trees.append(TreeJob(entries: entries, files: files, subtrees: subtrees, result: result))
        if current.trees.count >= 1024 { try submit() }
        return result
    }

    /// Waits until everything is stored.
    func finish() throws {
        try submit()
        queue.sync {}
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// After a failed scan: queued batches are skipped, and when this returns
    /// the processing thread no longer touches the writer.
    func cancel() {
        failure.withLock { if $0 == nil { $0 = CancellationError() } }
        queue.sync {}
    }

    private func submit() throws {
        if let error = failure.withLock({ $0 }) { throw error }
        guard !current.items.isEmpty || !current.trees.isEmpty else { return }
        slots.wait()
        let batch = current
        var buffer = spares.withLock { $0.popLast() } ?? []
        buffer.removeAll(keepingCapacity: true)
        buffer.reserveCapacity(capacity)
        current = Batch(bytes: buffer)
        queue.async { [self] in
            defer { slots.signal() }
            guard failure.withLock({ $0 }) == nil else { return }
            do { try process(batch) } catch { failure.withLock { $0 = error } }
            spares.withLock { $0.append(batch.bytes) }
        }
    }

    // MARK: processing thread

    private func process(_ batch: Batch) throws {
        if !batch.items.isEmpty { try storeChunks(batch) }
        if !batch.trees.isEmpty { try storeTrees(batch.trees) }
    }

    private func storeChunks(_ batch: Batch) throws {
        let ids = hashAll(batch)
        var firstIndex: [BlobID: Int] = [:]
        for (index, item) in batch.items.enumerated() {
            item.file.chunks.append(ChunkRef(id: ids[index], length: item.length))
            if firstIndex[ids[index]] == nil { firstIndex[ids[index]] = index }
        }
        let known = try writer.known(Array(firstIndex.keys))
        let fresh = firstIndex.filter { !known.contains($0.key) }.map(\.value).sorted()
        guard !fresh.isEmpty else { return }
        let packed = compress(batch, fresh)
        try batch.bytes.withUnsafeBytes { raw in
            for (slot, index) in fresh.enumerated() {
                let item = batch.items[index]
                if let compressed = packed[slot] {
                    try compressed.withUnsafeBytes { payload in
                        try writer.append(id: ids[index], kind: .chunk, rawLength: item.length, compression: .zstd, payload: payload)
                    }
                } else {
                    let source = UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + item.length])
                    try writer.append(id: ids[index], kind: .chunk, rawLength: item.length, compression: .none, payload: source)
                }
                chunksAdded += 1
                chunkBytesNew += item.length
            }
        }
    }

    private func storeTrees(_ jobs: [TreeJob]) throws {
        var encoded: [(id: BlobID, bytes: [UInt8])] = []
        for var job in jobs {
            for (index, file) in job.files {
                guard file.chunks.count <= Tree.Limits.chunksPerFile else {
                    throw RepositoryError(.limitExceeded, "\(job.entries[index].displayName) has \(file.chunks.count) chunks, more than the \(Tree.Limits.chunksPerFile) one tree entry holds; nothing was committed",
                                          hint: "use a larger --chunk-size for this volume")
                }
                job.entries[index].chunks = file.chunks
            }
            for (index, tree) in job.subtrees { job.entries[index].subtree = tree.id }
            let bytes = Tree(entries: job.entries).encoded()
            guard bytes.count <= PackFormat.maxTreeLength else {
                throw RepositoryError(.limitExceeded, "a directory of \(job.entries.count) entries exceeds the tree limit of \(PackFormat.maxTreeLength) bytes")
            }
            let id = BlobID.of(.tree, bytes)
            job.result.id = id
            if id != job.result.previous { encoded.append((id, bytes)) }
        }
        guard !encoded.isEmpty else { return }
        let known = try writer.known(encoded.map(\.id))
        for (id, bytes) in encoded where !known.contains(id) && !writer.isPending(id) {
            try writer.append(id: id, kind: .tree, raw: bytes, compressor: treeCompressor)
            treesAdded += 1
        }
    }

    private func hashAll(_ batch: Batch) -> [BlobID] {
        var ids = [BlobID?](repeating: nil, count: batch.items.count)
        batch.bytes.withUnsafeBytes { raw in
            ids.withUnsafeMutableBufferPointer { out in
                batch.items.withUnsafeBufferPointer { items in
                    Parallel.forEach(items.count, workers: workers) { index, _ in
                        let item = items[index]
                        out[index] = BlobID.of(.chunk, UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + item.length]))
                    }
                }
            }
        }
        return ids.map { $0! }
    }

    /// Compressed payloads for the given item indices; nil where raw is smaller.
    private func compress(_ batch: Batch, _ indices: [Int]) -> [[UInt8]?] {
        var results = [[UInt8]?](repeating: nil, count: indices.count)
        batch.bytes.withUnsafeBytes { raw in
            results.withUnsafeMutableBufferPointer { out in
                batch.items.withUnsafeBufferPointer { items in
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
