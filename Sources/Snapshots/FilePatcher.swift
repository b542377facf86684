import Foundation
import Repository

/// Builds the new version of a large file of the standby copy from the old
/// one: runs of chunks the old version holds are copied from it, only new
/// chunks are read from the store (and verified). The standby copy is barge's own
/// output, already promoted as it is; the store's data is what is checked.
final class FilePatcher {
    /// Below this a whole restore is as cheap.
    static let minimumSize: UInt64 = 4 << 20
    static let copyBuffer = 4 << 20
    private var buffer = [UInt8](repeating: 0, count: FilePatcher.copyBuffer)

    let store: Store
    let decompressor: Decompressor

    init(store: Store, decompressor: Decompressor) {
        self.store = store
        self.decompressor = decompressor
    }

    /// Whether `new` can be built from `old` this way.
    static func applies(new: TreeEntry, old: TreeEntry) -> Bool {
        new.kind == .file && old.kind == .file && !new.sparse && new.linkGroup == 0 && old.linkGroup == 0
            && new.size >= minimumSize && Set(old.chunks.map(\.id)).intersection(new.chunks.map(\.id)).count > new.chunks.count / 4
    }

    /// Writes `new` into `staging` under its name, from `old` (open in `directory`).
    /// Returns the bytes read from the store, or nil when the old file is not
    /// what its snapshot says (then a whole restore is the way).
    func build(_ new: TreeEntry, from old: TreeEntry, in directory: Int32, into staging: Int32, metadata: MetadataWriter,
               path: [UInt8]) throws -> UInt64? {
        let source = FileSystem.open(at: directory, old.name, O_RDONLY | O_NOFOLLOW)
        guard source >= 0 else { return nil }
        defer { close(source) }
        guard let status = FileSystem.status(of: source), status.kind == .file, status.size == old.size else { return nil }
        let target = FileSystem.open(at: staging, new.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
        guard target >= 0 else { throw FileSystem.error("create", path) }
        defer { close(target) }
        var oldOffsets: [BlobID: Int] = [:]
        var offset = 0
        for chunk in old.chunks {
            if oldOffsets[chunk.id] == nil { oldOffsets[chunk.id] = offset }
            offset += chunk.length
        }
        let missing = Array(Set(new.chunks.map(\.id)).subtracting(oldOffsets.keys))
        let locations = try store.index.locations(of: missing)
        var fromStore: UInt64 = 0
        // Runs of chunks that sit in the same order in both versions are copied with one call.
        var run: (from: Int, to: Int, count: Int)? = nil
        func flush() throws {
            if let pending = run { try copy(source, from: pending.from, to: target, at: pending.to, count: pending.count, path: path) }
            run = nil
        }
        offset = 0
        for chunk in new.chunks {
            defer { offset += chunk.length }
            if let from = oldOffsets[chunk.id] {
                if let pending = run, pending.from + pending.count == from, pending.to + pending.count == offset {
                    run = (pending.from, pending.to, pending.count + chunk.length)
                } else {
                    try flush()
                    run = (from, offset, chunk.length)
                }
                continue
            }
            try flush()
            guard let location = locations[chunk.id] else {
                throw RepositoryError(.missing, "chunk \(chunk.id.short) of \(TreeEntry.display(path)) is not in the store",
                                      hint: "run `barge verify` to see which snapshots are affected")
            }
            let bytes = try store.read(location, using: decompressor)
            try write(bytes, to: target, at: offset, path: path)
            fromStore += UInt64(bytes.count)
        }
        try flush()
        guard ftruncate(target, off_t(new.size)) == 0 else { throw FileSystem.error("truncate", path) }
        metadata.apply(new, descriptor: target, path: path)
        return fromStore
    }

    /// The chunks of `new` that `old` does not hold at the same offset (other
    /// bytes, or the same bytes moved): what an in-place patch must write.
    static func rewrites(new: TreeEntry, old: TreeEntry) -> [(offset: Int, id: BlobID, length: Int)] {
        var kept = Set<ChunkAt>()
        var offset = 0
        for chunk in old.chunks {
            kept.insert(ChunkAt(offset: offset, id: chunk.id))
            offset += chunk.length
        }
        var rewrites: [(offset: Int, id: BlobID, length: Int)] = []
        offset = 0
        for chunk in new.chunks {
            if !kept.contains(ChunkAt(offset: offset, id: chunk.id)) { rewrites.append((offset, chunk.id, chunk.length)) }
            offset += chunk.length
        }
        return rewrites
    }

    private struct ChunkAt: Hashable {
        let offset: Int
        let id: BlobID
    }

    /// The chunks to write when `new` is best written over `old` where it lies,
    /// else nil: pages rewritten in place (a database) leave most chunks at
    /// their offsets, and then the cost is the change, not the file. An
    /// insertion shifts what follows, and then `build` (copy from the old
    /// version) is cheaper.
    static func inPlaceRewrites(new: TreeEntry, old: TreeEntry) -> [(offset: Int, id: BlobID, length: Int)]? {
        guard new.kind == .file, old.kind == .file, !new.sparse, !old.sparse, new.linkGroup == 0, old.linkGroup == 0,
              new.size >= minimumSize else { return nil }
        let writes = rewrites(new: new, old: old)
        return writes.reduce(0, { $0 + UInt64($1.length) }) <= new.size / 4 ? writes : nil
    }

    /// Writes only the chunks of `new` that `old` does not hold at the same
    /// offset, over the old file itself (read from the store, verified), then
    /// sets its size and metadata. The file is half written until this returns:
    /// the caller runs under the standby's `updating` mark, which makes an
    /// update cut short a rebuild from scratch, and never promotes such a copy.
    /// Returns the bytes written, or nil when the file on disk is not what
    /// `old` says (then nothing was written).
    func patchInPlace(_ new: TreeEntry, over old: TreeEntry, writing writes: [(offset: Int, id: BlobID, length: Int)],
                      in directory: Int32, metadata: MetadataWriter, path: [UInt8]) throws -> UInt64? {
        let target = FileSystem.open(at: directory, old.name, O_RDWR | O_NOFOLLOW)
        guard target >= 0 else { return nil }
        defer { close(target) }
        guard let status = FileSystem.status(of: target), status.kind == .file, status.size == old.size,
              status.mtimeNanoseconds == old.mtimeNanoseconds, status.links == 1 else { return nil }
        // Every location is looked up before the first byte changes, so a missing chunk leaves the file as it was.
        let locations = try store.index.locations(of: Array(Set(writes.map(\.id))))
        if let absent = writes.first(where: { locations[$0.id] == nil }) {
            throw RepositoryError(.missing, "chunk \(absent.id.short) of \(TreeEntry.display(path)) is not in the store",
                                  hint: "run `barge verify` to see which snapshots are affected")
        }
        store.prefetch(writes.compactMap { locations[$0.id] })
        var written: UInt64 = 0
        for write in writes {
            let bytes = try store.read(locations[write.id]!, using: decompressor)
            try self.write(bytes, to: target, at: write.offset, path: path)
            written += UInt64(bytes.count)
        }
        if UInt64(status.size) != new.size {
            guard ftruncate(target, off_t(new.size)) == 0 else { throw FileSystem.error("truncate", path) }
        }
        metadata.apply(new, descriptor: target, path: path)
        return written
    }

    /// Copies through a reused buffer: copy_file_range was measured 30x slower than this on
    /// some ext4 mounts (and failed there with ENOSPC), so the portable way is the dependable one.
    private func copy(_ source: Int32, from: Int, to target: Int32, at: Int, count: Int, path: [UInt8]) throws {
        var done = 0
        while done < count {
            let piece = min(Self.copyBuffer, count - done)
            let read = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, piece, off_t(from + done)) }
            if read < 0 && errno == EINTR { continue }
            guard read > 0 else {
                throw RepositoryError(.io, "\(TreeEntry.display(path)): the standby file ends before its snapshot says (\(read < 0 ? String(cString: strerror(errno)) : "short read"))",
                                      hint: "the next update rebuilds the standby copy")
            }
            var written = 0
            while written < read {
                let wrote = buffer.withUnsafeBytes { pwrite(target, $0.baseAddress! + written, read - written, off_t(at + done + written)) }
                if wrote < 0 && errno == EINTR { continue }
                guard wrote > 0 else { throw FileSystem.error("write", path) }
                written += wrote
            }
            done += read
        }
    }

    private func write(_ bytes: [UInt8], to target: Int32, at offset: Int, path: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let wrote = bytes.withUnsafeBytes { pwrite(target, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if wrote < 0 && errno == EINTR { continue }
            guard wrote > 0 else { throw FileSystem.error("write", path) }
            done += wrote
        }
    }
}
