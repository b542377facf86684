import CLinux
import Dispatch
import Foundation
import Repository
import Synchronization

/// Writes restored files, in three stages that overlap: the caller creates
/// files and queues their chunks; a decoding thread reads, decompresses and
/// checks batches of chunks against their ids (in parallel within a batch);
/// a writing thread puts them in place. A chunk that fails its check stops
/// the restore: wrong bytes are never written.
///
/// Threading contract: `add`, `flush` and `drain` are called from one thread;
/// an `OpenFile` belongs to the writing thread once added (it alone closes files).
final class RestoreSink: @unchecked Sendable {
    final class OpenFile: @unchecked Sendable {
        let descriptor: Int32
        let entry: TreeEntry
        let path: [UInt8]
        var remaining: Int
        var bytesSinceWriteback = 0
        var closed = false
        init(descriptor: Int32, entry: TreeEntry, path: [UInt8]) {
            self.descriptor = descriptor
            self.entry = entry
            self.path = path
            self.remaining = entry.chunks.count
        }
    }

    private typealias Task = (file: OpenFile, offset: Int, chunk: ChunkRef)

    private let store: Store
    private let workers: Int
    private let decompressors: [Decompressor]
    private let metadata: MetadataWriter
    private var tasks: [Task] = []
    private var batchBytes = 0
    /// One per file created and not yet closed: bounds open descriptors.
    private let fileSlots = DispatchSemaphore(value: RestoreSink.openFileLimit)
    private let decoding = DispatchQueue(label: "barge.restore-decoder")
    private let writing = DispatchQueue(label: "barge.restore-writer")
    /// Batches queued, decoding or being written: bounds memory (each holds
    /// up to `batchLimit` decoded bytes plus the packed bytes read for it).
    private let inFlight = DispatchSemaphore(value: 3)
    private let failure = Mutex<RepositoryError?>(nil)
    private let written = Atomic<UInt64>(0)
    private static let batchLimit = 8 << 20
    /// The longest run of adjacent records read with one pread.
    private static let runLimit = 2 << 20
    /// Files open at once. Each batch holds files until its chunks are written, and
    /// small files make batches of thousands: at 256 the caller waited for each
    /// batch to be written before it could create the next files, and the three
    /// stages ran one after another (a real tree's restore took 15% longer).
    /// A quarter of the process's limit leaves room for everything else.
    private static let openFileLimit: Int = {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 256 }
        return min(2048, max(64, Int(clamping: limit.rlim_cur) / 4))
    }()

    var bytesWritten: UInt64 { written.load(ordering: .relaxed) }

    private let arrivals: BlobArrivals?

    init(store: Store, workers: Int, metadata: MetadataWriter, arrivals: BlobArrivals? = nil) {
        self.store = store
        self.arrivals = arrivals
        self.workers = max(1, workers)
        self.decompressors = (0..<max(1, workers)).map { _ in Decompressor() }
        self.metadata = metadata
    }

    /// Queues a file that `descriptor` was opened for; the sink closes it.
    func add(descriptor: Int32, entry: TreeEntry, path: [UInt8]) throws {
        let file = OpenFile(descriptor: descriptor, entry: entry, path: path)
        if fileSlots.wait(timeout: .now()) == .timedOut {
            // The files holding the slots may wait on chunks still queued here.
            do { try flush() } catch {
                Glibc.close(descriptor)
                throw error
            }
            fileSlots.wait()
        }
        if entry.chunks.isEmpty {
            tasks.append((file, 0, ChunkRef(id: BlobID.of(.chunk, []), length: 0)))
            return
        }
        var offset = 0
        for chunk in entry.chunks {
            if batchBytes + chunk.length > Self.batchLimit && !tasks.isEmpty { try flush() }
            tasks.append((file, offset, chunk))
            batchBytes += chunk.length
            offset += chunk.length
        }
    }

    /// Hands the queued chunks to the decoding thread, which passes them on to the writing thread.
    func flush() throws {
        if let error = failure.withLock({ $0 }) { throw error }
        guard !tasks.isEmpty else { return }
        let batch = tasks
        tasks.removeAll(keepingCapacity: true)
        batchBytes = 0
        inFlight.wait()
        decoding.async { [self] in
            var decoded: [BlobID: [UInt8]] = [:]
            if failure.withLock({ $0 }) == nil {
                do { decoded = try decode(batch) } catch { fail(error) }
            }
            let data = decoded
            writing.async { [self] in
                defer { inFlight.signal() }
                guard failure.withLock({ $0 }) == nil else { closeAll(batch); return }
                do { try write(batch, data) } catch {
                    fail(error)
                    closeAll(batch)
                }
            }
        }
    }

    /// Keeps the first error: it is the one the user sees.
    private func fail(_ error: any Error) {
        let error = (error as? RepositoryError) ?? RepositoryError(.io, "\(error)")
        failure.withLock { if $0 == nil { $0 = error } }
    }

    /// After a failed restore: nothing more is written, every file is closed.
    func cancel() {
        fail(RepositoryError(.io, "restore cancelled"))
        decoding.sync {}
        writing.sync {}
        closeAll(tasks)
        tasks.removeAll()
    }

    /// Closes each file of `batch` that is still open (writing thread, or once it is idle).
    private func closeAll(_ batch: [Task]) {
        for task in batch where !task.file.closed { close(task.file) }
    }

    private func close(_ file: OpenFile) {
        Glibc.close(file.descriptor)
        file.closed = true
        fileSlots.signal()
    }

    /// Flushes and waits until every queued file is written and closed.
    func drain() throws {
        try flush()
        decoding.sync {}
        writing.sync {}
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private func decode(_ batch: [Task]) throws -> [BlobID: [UInt8]] {
        let wanted = Array(Set(batch.lazy.filter { $0.chunk.length > 0 }.map(\.chunk.id)))
        // Chunks the receiver verified and handed over raw: no store read, no second decode and hash.
        var handed = arrivals?.takeChunks(wanted) ?? [:]
        var unique = handed.isEmpty ? wanted : wanted.filter { handed[$0] == nil }
        var locations = unique.isEmpty ? [:] : try store.index.locations(of: unique)
        if let arrivals, locations.count < unique.count {
            // Still being received: wait until every chunk of the batch is handed over or committed,
            // asking the index again only after a commit.
            var missing = unique.filter { locations[$0] == nil }
            var lookedAfter: Int?
            _ = try arrivals.wait(for: "a chunk of \(TreeEntry.display(batch[0].file.path))") { () throws -> Bool? in
                handed.merge(arrivals.takeChunks(missing)) { $1 }
                missing.removeAll { handed[$0] != nil }
                let commits = arrivals.commitCount
                if !missing.isEmpty && commits != lookedAfter {
                    lookedAfter = commits
                    locations.merge(try self.store.index.locations(of: missing)) { $1 }
                    missing.removeAll { locations[$0] != nil }
                }
                return missing.isEmpty ? true : nil
            }
            unique.removeAll { handed[$0] != nil }
        }
        if unique.isEmpty { return handed }
        store.prefetch(locations.values, ahead: Self.batchLimit)
        // Records stored one after another are read with one pread per run.
        let found = locations.values.filter { $0.kind == .chunk }.sorted { ($0.pack, $0.offset) < ($1.pack, $1.offset) }
        var runs: [Range<Int>] = []
        var start = 0
        for index in found.indices.dropFirst() {
            let previous = found[index - 1], current = found[index]
            let adjacent = current.pack == previous.pack && current.offset == previous.offset + PackFormat.headerLength + previous.storedLength
            if !adjacent || current.offset - found[start].offset > Self.runLimit {
                runs.append(start..<index)
                start = index
            }
        }
        if !found.isEmpty { runs.append(start..<found.count) }
        var decoded = [Result<[UInt8], RepositoryError>?](repeating: nil, count: found.count)
        let store = store, decompressors = decompressors
        decoded.withUnsafeMutableBufferPointer { out in
            Parallel.forEach(runs.count, workers: workers) { runIndex, worker in
                let run = runs[runIndex]
                do {
                    let bytes = try store.readRun(found[run])
                    bytes.withUnsafeBytes { raw in
                        for index in run {
                            let location = found[index]
                            let from = location.offset - found[run.lowerBound].offset
                            let record = UnsafeRawBufferPointer(rebasing: raw[from..<from + PackFormat.headerLength + location.storedLength])
                            do { out[index] = .success(try store.decode(location, from: record, using: decompressors[worker])) } catch let error as RepositoryError {
                                out[index] = .failure(error)
                            } catch {
                                out[index] = .failure(RepositoryError(.io, "\(error)"))
                            }
                        }
                    }
                } catch {
                    let failure = (error as? RepositoryError) ?? RepositoryError(.io, "\(error)")
                    for index in run { out[index] = .failure(failure) }
                }
            }
        }
        var results = [Result<[UInt8], RepositoryError>?](repeating: nil, count: unique.count)
        var position: [BlobID: Int] = [:]
        for (index, location) in found.enumerated() { position[location.id] = index }
        for (index, id) in unique.enumerated() {
            results[index] = position[id].map { decoded[$0]! }
                ?? .failure(RepositoryError(.missing, "chunk \(id.short) is not in the store"))
        }
        var data = handed
        for (index, id) in unique.enumerated() {
            switch results[index]! {
            case .success(let bytes): data[id] = bytes
            case .failure(let error):
                let file = batch.first { $0.chunk.id == id }!.file
                throw RepositoryError(error.code, "cannot restore \(TreeEntry.display(file.path)): \(error.message)",
                                      hint: "run `barge verify --read-data`; restore from another snapshot or node that has the data")
            }
        }
        return data
    }

    // MARK: writing thread

    private func write(_ batch: [Task], _ data: [BlobID: [UInt8]]) throws {
        for task in batch {
            if task.chunk.length > 0 {
                let bytes = data[task.chunk.id]!
                guard bytes.count == task.chunk.length else {
                    throw RepositoryError(.corrupt, "cannot restore \(TreeEntry.display(task.file.path)): chunk \(task.chunk.id.short) is \(bytes.count) bytes, the tree says \(task.chunk.length)")
                }
                if !(task.file.entry.sparse && bytes.allSatisfy { $0 == 0 }) {
                    try write(bytes, to: task.file, at: task.offset)
                }
                task.file.remaining -= 1
            }
            if task.file.remaining == 0 { try finish(task.file) }
        }
    }

    private func write(_ bytes: [UInt8], to file: OpenFile, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let wrote = bytes.withUnsafeBytes { pwrite(file.descriptor, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            if wrote < 0 {
                if errno == EINTR { continue }
                throw FileSystem.error("write", file.path)
            }
            done += wrote
        }
        written.add(UInt64(bytes.count), ordering: .relaxed)
        // Start writeback as we go, so the data is on disk soon after the
        // restore ends instead of all at the final sync.
        file.bytesSinceWriteback += bytes.count
        if file.bytesSinceWriteback >= 8 << 20 {
            _ = barge_start_writeback(file.descriptor)
            file.bytesSinceWriteback = 0
        }
    }

    private func finish(_ file: OpenFile) throws {
        defer { close(file) }
        // A sparse file's zero chunks were skipped: setting its length leaves the trailing hole.
        // Any other file was created empty (O_EXCL) and every byte written, so it has its length.
        if file.entry.sparse {
            guard ftruncate(file.descriptor, off_t(file.entry.size)) == 0 else { throw FileSystem.error("ftruncate", file.path) }
        }
        metadata.apply(file.entry, descriptor: file.descriptor, path: file.path)
    }
}
