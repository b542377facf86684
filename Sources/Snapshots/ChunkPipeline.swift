import Dispatch
import Repository
import Synchronization

/// Stores a scan's chunks and trees while the scanner keeps reading, in two
/// stages that overlap with each other and with reading and cutting (scanner
/// thread): a hashing thread hashes a batch's chunks in parallel, looks them
/// up in the index once and compresses the new ones in parallel; a storing
/// thread appends them in order, then runs the batch's tree jobs, which need
/// those chunks' ids. Both stages take batches in submission order, so a
/// directory's tree is built after its files' chunks and its subdirectories'
/// trees. At most three batches exist at a time, so memory stays bounded.
///
/// Threading contract: `add`, `buildTree` and `finish` are called from one
/// thread. `PendingFile` and `PendingTree` are written and read only on the
/// storing thread until `finish` returns.
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
        /// `known`: the id of a chunk of the parent snapshot found again (ChunkFingerprints): not hashed.
        var items: [(offset: Int, length: Int, file: PendingFile, known: BlobID?)] = []
        var trees: [TreeJob] = []
        init(bytes: [UInt8]) { self.bytes = bytes }
    }

    private let writer: BlobWriter
    private let workers: Int
    private let codec: Compression
    private let compressors: [Compressor]
    private let treeCompressor: Compressor
    private let batchBytes: Int
    private let hashing = DispatchQueue(label: "barge.chunk-hash")
    private let queue = DispatchQueue(label: "barge.chunk-store")
    /// Two batches in the stages (one hashing, one storing) while a third
    /// fills: 3 × `batchBytes` at most, plus the compressed copies of new chunks.
    private let slots = DispatchSemaphore(value: 2)
    /// Batch buffers handed back by the storing thread, for reuse.
    private let spares = Mutex<[[UInt8]]>([])
    private let capacity: Int
    private let failure = Mutex<(any Error)?>(nil)
    private var current: Batch

    // Written on the storing thread; read after `finish`.
    private(set) var chunksAdded = 0
    private(set) var chunkBytesNew = 0
    private(set) var treesAdded = 0

    /// `codec`: the store's (`Store.compression`); `compressionLevel` applies to zstd.
    init(writer: BlobWriter, workers: Int, codec: Compression, compressionLevel: Int32, maximumChunk: Int, batchBytes: Int = 2 << 20) {
        self.writer = writer
        self.workers = max(1, workers)
        self.codec = codec
        self.compressors = (0..<max(1, workers)).map { _ in Compressor(codec: codec, level: compressionLevel) }
        self.treeCompressor = Compressor(codec: codec, level: compressionLevel)
        self.batchBytes = batchBytes
        self.capacity = batchBytes + maximumChunk
        current = Batch(bytes: [])
        current.bytes.reserveCapacity(capacity)
    }

    /// `known`: the chunk's id, when these bytes are a chunk of the parent snapshot found again
    /// (ChunkFingerprints). It is not hashed, but looked up like any other: one missing from the
    /// store (dropped by `verify --repair`) is stored again from these bytes.
    func add(_ chunk: UnsafeRawBufferPointer, to file: PendingFile, known: BlobID? = nil) throws {
        if !current.items.isEmpty && current.bytes.count + chunk.count > batchBytes { try submit() }
        current.items.append((current.bytes.count, chunk.count, file, known))
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
        hashing.sync {}
        queue.sync {}
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// After a failed scan: queued batches are skipped, and when this returns
    /// neither stage touches the writer any more.
    func cancel() {
        fail(CancellationError())
        hashing.sync {}
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
        hashing.async { [self] in
            var prepared = Prepared(ids: [], fresh: [], packed: [], commitsBeforeLookUp: 0)
            if failure.withLock({ $0 }) == nil && !batch.items.isEmpty {
                do { prepared = try prepare(batch) } catch { fail(error) }
            }
            let ready = prepared
            queue.async { [self] in
                defer { slots.signal() }
                guard failure.withLock({ $0 }) == nil else { return }
                do { try store(batch, ready) } catch { fail(error) }
                // Taken out of the batch first: a spare the batch still shares would be
                // reallocated (fresh pages, faulted in again) by the next `removeAll(keepingCapacity:)`.
                spares.withLock { spares in
                    spares.append([])
                    swap(&spares[spares.count - 1], &batch.bytes)
                }
            }
        }
    }

    /// Keeps the first error: it is the one the scan reports.
    private func fail(_ error: any Error) {
        failure.withLock { if $0 == nil { $0 = error } }
    }

    /// A batch's chunk ids, and the new ones (first occurrence, not in the
    /// index when looked up) with their compressed bytes (nil: store raw).
    private struct Prepared: @unchecked Sendable {
        let ids: [BlobID]
        let fresh: [Int]
        let packed: [[UInt8]?]
        /// The writer's commit count before the index was asked.
        let commitsBeforeLookUp: Int
    }

    // MARK: hashing thread

    /// Only the index is asked here: what the storing thread appended but has
    /// not committed yet is checked again there, before anything is appended.
    private func prepare(_ batch: Batch) throws -> Prepared {
        let ids = hashAll(batch)
        var firstIndex: [BlobID: Int] = [:]
        for (index, id) in ids.enumerated() where firstIndex[id] == nil { firstIndex[id] = index }
        let commits = writer.commitCount
        let known = try writer.lookUp(Array(firstIndex.keys))
        let fresh = firstIndex.filter { known[$0.key] == nil }.map(\.value).sorted()
        return Prepared(ids: ids, fresh: fresh, packed: fresh.isEmpty ? [] : compress(batch, fresh), commitsBeforeLookUp: commits)
    }

    // MARK: storing thread

    private func store(_ batch: Batch, _ prepared: Prepared) throws {
        if !batch.items.isEmpty { try storeChunks(batch, prepared) }
        if !batch.trees.isEmpty { try storeTrees(batch.trees) }
    }

    private func storeChunks(_ batch: Batch, _ prepared: Prepared) throws {
        let ids = prepared.ids, fresh = prepared.fresh, packed = prepared.packed
        for (index, item) in batch.items.enumerated() {
            item.file.chunks.append(ChunkRef(id: ids[index], length: item.length))
        }
        guard !fresh.isEmpty else { return }
        // Appended by an earlier batch since the hashing thread looked (pending, or committed at a checkpoint).
        let stored = try writer.known(fresh.map { ids[$0] }, indexAskedAt: prepared.commitsBeforeLookUp)
        try batch.bytes.withUnsafeBytes { raw in
            for (slot, index) in fresh.enumerated() where !stored.contains(ids[index]) {
                let item = batch.items[index]
                if let compressed = packed[slot] {
                    try compressed.withUnsafeBytes { payload in
                        try writer.append(id: ids[index], kind: .chunk, rawLength: item.length, compression: codec, payload: payload)
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
                        out[index] = item.known ?? BlobID.of(.chunk, UnsafeRawBufferPointer(rebasing: raw[item.offset..<item.offset + item.length]))
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
