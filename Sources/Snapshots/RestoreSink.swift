import Foundation
import Repository

/// Writes restored files: chunks are read, decompressed and checked against
/// their ids in parallel batches across files, then written in order.
/// A chunk that fails its check aborts the restore: wrong bytes are never written.
final class RestoreSink {
    /// A file open for writing until its last chunk lands.
    final class OpenFile {
        let descriptor: Int32
        let entry: TreeEntry
        let path: [UInt8]
        var remaining: Int
        init(descriptor: Int32, entry: TreeEntry, path: [UInt8]) {
            self.descriptor = descriptor
            self.entry = entry
            self.path = path
            self.remaining = entry.chunks.count
        }
    }

    private let store: Store
    private let workers: Int
    private let decompressors: [Decompressor]
    private let metadata: MetadataWriter
    private var tasks: [(file: OpenFile, offset: Int, chunk: ChunkRef)] = []
    private var batchBytes = 0
    private var openFiles = 0
    private static let batchLimit = 16 << 20
    private static let openFileLimit = 256
    private(set) var bytesWritten: UInt64 = 0

    init(store: Store, workers: Int, metadata: MetadataWriter) {
        self.store = store
        self.workers = max(1, workers)
        self.decompressors = (0..<max(1, workers)).map { _ in Decompressor() }
        self.metadata = metadata
    }

    /// Queues a file that `descriptor` was opened for; the sink closes it.
    func add(descriptor: Int32, entry: TreeEntry, path: [UInt8]) throws {
        let file = OpenFile(descriptor: descriptor, entry: entry, path: path)
        if entry.chunks.isEmpty { return try finish(file) }
        if openFiles >= Self.openFileLimit { try flush() }
        openFiles += 1
        var offset = 0
        for chunk in entry.chunks {
            if batchBytes + chunk.length > Self.batchLimit && !tasks.isEmpty { try flush() }
            tasks.append((file, offset, chunk))
            batchBytes += chunk.length
            offset += chunk.length
        }
    }

    func flush() throws {
        guard !tasks.isEmpty else { return }
        let unique = Array(Set(tasks.map(\.chunk.id)))
        let locations = try store.index.locations(of: unique)
        var results = [Result<[UInt8], RepositoryError>?](repeating: nil, count: unique.count)
        results.withUnsafeMutableBufferPointer { out in
            Parallel.forEach(unique.count, workers: workers) { index, worker in
                guard let location = locations[unique[index]], location.kind == .chunk else {
                    out[index] = .failure(RepositoryError(.missing, "chunk \(unique[index].short) is not in the store"))
                    return
                }
                do { out[index] = .success(try store.read(location, using: decompressors[worker])) } catch let error as RepositoryError {
                    out[index] = .failure(error)
                } catch {
                    out[index] = .failure(RepositoryError(.io, "\(error)"))
                }
            }
        }
        var data: [BlobID: Result<[UInt8], RepositoryError>] = [:]
        for (index, id) in unique.enumerated() { data[id] = results[index] }
        let batch = tasks
        tasks.removeAll(keepingCapacity: true)
        batchBytes = 0
        for task in batch {
            let bytes: [UInt8]
            switch data[task.chunk.id]! {
            case .success(let found): bytes = found
            case .failure(let error):
                throw RepositoryError(error.code, "cannot restore \(TreeEntry.display(task.file.path)): \(error.message)",
                                      hint: "run `barge verify --read-data`; restore from another snapshot or node that has the data")
            }
            guard bytes.count == task.chunk.length else {
                throw RepositoryError(.corrupt, "cannot restore \(TreeEntry.display(task.file.path)): chunk \(task.chunk.id.short) is \(bytes.count) bytes, the tree says \(task.chunk.length)")
            }
            if !(task.file.entry.sparse && bytes.allSatisfy { $0 == 0 }) {
                try write(bytes, to: task.file, at: task.offset)
            }
            task.file.remaining -= 1
            if task.file.remaining == 0 {
                openFiles -= 1
                try finish(task.file)
            }
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
        bytesWritten += UInt64(bytes.count)
    }

    private func finish(_ file: OpenFile) throws {
        defer { close(file.descriptor) }
        // Sets the length, and leaves a trailing hole in sparse files.
        guard ftruncate(file.descriptor, off_t(file.entry.size)) == 0 else { throw FileSystem.error("ftruncate", file.path) }
        metadata.apply(file.entry, descriptor: file.descriptor, path: file.path)
    }
}
