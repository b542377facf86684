import CLinux
import Foundation
import Synchronization

/// Appends blobs to packs and makes them durable in the only safe order:
/// pack bytes written and fsynced, then the index rows committed in one
/// transaction, and last, in the same transaction, the snapshot that uses them.
///
/// Rows are committed at checkpoints (every `checkpointBytes`), so memory stays
/// bounded and an interrupted snapshot leaves reusable chunks behind.
public final class BlobWriter {
    public let store: Store
    private var pack: OpenPack?
    /// Packs written since the last checkpoint, closed or not, awaiting fsync.
    private var unsynced: [OpenPack] = []
    private var pending: [BlobLocation] = []
    private var pendingIDs: Set<BlobID> = []
    private var bytesSinceCheckpoint = 0
    private var syncedSizes: [Int64: Int] = [:]
    public let checkpointBytes: Int
    public private(set) var bytesWritten = 0
    /// Pack bytes written per kind, record headers included.
    public private(set) var bytesWrittenByKind: [BlobKind: Int] = [:]

    /// Fresh packs only: gc must not append to a pack it is about to delete.
    private let appendsToExistingPacks: Bool

    /// This writer's registration with the store's gate (gc waits for writers older than itself).
    private let ticket: UInt64

    /// Called after each commit of rows (checkpoints included): readers may look again.
    public var afterCommit: (() -> Void)?

    private let commits = Atomic<Int>(0)
    /// Commits of rows so far (checkpoints included); readable from any thread, for `known(_:indexAskedAt:)`.
    public var commitCount: Int { commits.load(ordering: .acquiring) }

    public init(store: Store, checkpointBytes: Int = 64 * 1024 * 1024, appendsToExistingPacks: Bool = true) {
        self.store = store
        self.checkpointBytes = checkpointBytes
        self.appendsToExistingPacks = appendsToExistingPacks
        ticket = store.gate.writerStarted()
    }

    /// Packs written since the last successful commit, with the size the
    /// index knows for them (nil: a pack this writer created, never committed).
    private var uncommitted: [Int64: (path: String, committed: Int?)] = [:]

    /// The agent runs several writers at once (snapshots and receptions) and gc
    /// beside them: every pack this writer appends to, or wrote and has not
    /// committed, is claimed on the store's gate until its rows are committed.
    deinit {
        pack?.close()
        for open in unsynced where open !== pack { open.close() }
        // A session that ends without committing (an error, a full disk) takes
        // back what it wrote: it knows these bytes are its own. After kill -9
        // they stay as tails, never referenced, for gc.
        for (_, written) in uncommitted {
            if let size = written.committed { _ = truncate(written.path, off_t(size)) } else { _ = unlink(written.path) }
        }
        store.gate.release(Set(uncommitted.keys).union(pack.map { [$0.number] } ?? []))
        store.gate.writerEnded(ticket)
    }

    /// The subset of `ids` already stored or pending in this session. A
    /// stored id found here may be referenced: gc running beside keeps it.
    /// `indexAskedAt`: the `commitCount` before the caller found these ids
    /// missing from the index; while it is unchanged, only the pending ones
    /// can have been stored since, and the index is not asked again.
    public func known(_ ids: [BlobID], indexAskedAt: Int? = nil) throws -> Set<BlobID> {
        var found = Set(ids.filter { pendingIDs.contains($0) })
        if indexAskedAt == commitCount { return found }
        let rest = ids.filter { !found.contains($0) }
        if !rest.isEmpty { found.formUnion(try lookUp(rest).keys) }
        return found
    }

    /// Where these ids are stored, for a writer that may reference them (noted on the gate first).
    public func lookUp(_ ids: [BlobID]) throws -> [BlobID: BlobLocation] {
        store.gate.noteUsed(ids)
        return try store.index.locations(of: ids)
    }

    public func isPending(_ id: BlobID) -> Bool { pendingIDs.contains(id) }

    /// Appends one record. `payload` is already compressed when `compression` says so.
    public func append(id: BlobID, kind: BlobKind, rawLength: Int, compression: Compression,
                       payload: UnsafeRawBufferPointer) throws {
        guard !pendingIDs.contains(id) else { return }
        // The rule every reader applies to the header (PackFormat): a record that breaks it is never written.
        guard payload.count <= compression.maximumStoredLength(rawLength: rawLength), compression != .none || payload.count == rawLength else {
            throw RepositoryError(.invalidArgument, "\(kind.name) \(id.short): \(payload.count) bytes stored as \(compression.name) cannot hold \(rawLength)")
        }
        let target = try currentPack()
        let header = PackFormat.RecordHeader(kind: kind, compression: compression, storedLength: payload.count,
                                             rawLength: rawLength, id: id)
        let offset = target.size
        try header.encoded().withUnsafeBytes { (raw) throws in try target.write(raw) }
        try target.write(payload)
        pending.append(BlobLocation(id: id, kind: kind, pack: target.number, offset: offset,
                                    storedLength: payload.count, rawLength: rawLength, compression: compression))
        pendingIDs.insert(id)
        // gc may list this tree's row before the snapshot that uses it is committed: it must not count it dead.
        if kind == .tree { store.gate.noteUsed(CollectionOfOne(id)) }
        let added = PackFormat.headerLength + payload.count
        bytesSinceCheckpoint += added
        bytesWritten += added
        bytesWrittenByKind[kind, default: 0] += added
        if target.size >= PackFormat.targetPackSize { pack = nil }
        if bytesSinceCheckpoint >= checkpointBytes { try checkpoint() }
    }

    /// Appends raw bytes, compressing them when that makes them smaller.
    public func append(id: BlobID, kind: BlobKind, raw: [UInt8], compressor: Compressor) throws {
        try raw.withUnsafeBytes { (source) throws in
            if let packed = compressor.compress(source) {
                try packed.withUnsafeBytes { (payload) throws in
                    try append(id: id, kind: kind, rawLength: raw.count, compression: compressor.codec, payload: payload)
                }
            } else {
                try append(id: id, kind: kind, rawLength: raw.count, compression: .none, payload: source)
            }
        }
    }

    /// Makes everything appended so far durable and indexed.
    public func checkpoint() throws {
        try commit(snapshot: nil)
    }

    /// Writes the snapshot record into a pack, fsyncs, and commits the snapshot
    /// row together with every pending blob row. Returns the snapshot id.
    @discardableResult
    public func commit(_ record: SnapshotRecord, compressor: Compressor) throws -> BlobID {
        try record.validate()
        let encoded = record.encoded()
        let id = BlobID.of(.snapshot, encoded)
        try append(id: id, kind: .snapshot, raw: encoded, compressor: compressor)
        try commit(snapshot: StoredSnapshot(id: id, record: record))
        return id
    }

    /// For gc: makes the copies durable, then in one transaction points the
    /// copied blobs at them, deletes `deleted` rows and the emptied packs' rows.
    public func commitRelocation(deleted: [BlobID], removedPacks: [Int64]) throws {
        let sizes = try syncPacks()
        try store.index.relocate(moved: pending, deleted: deleted, removedPacks: removedPacks, packSizes: sizes)
        markCommitted()
        pending.removeAll(keepingCapacity: true)
        pendingIDs.removeAll(keepingCapacity: true)
        bytesSinceCheckpoint = 0
        commits.add(1, ordering: .releasing)
    }

    /// Makes what was appended durable without committing it: gc fsyncs its
    /// copies before it takes the gate, so the commit inside is short.
    public func sync() throws { _ = try syncPacks() }

    /// Fsyncs every pack written since the last sync; returns the sizes of all
    /// packs synced since the last commit.
    private func syncPacks() throws -> [Int64: Int] {
        for open in unsynced {
            try open.flushAndSync()
            syncedSizes[open.number] = open.size
            if open !== pack { open.close() }
        }
        unsynced = pack.map { [$0] } ?? []
        return syncedSizes
    }

    private func markCommitted() {
        syncedSizes = [:]
        let done = Set(uncommitted.keys).subtracting(pack.map { [$0.number] } ?? [])
        uncommitted = pack.map { [$0.number: ($0.path, $0.size)] } ?? [:]
        store.gate.release(done)
    }

    private func commit(snapshot: StoredSnapshot?) throws {
        let sizes = try syncPacks()
        try store.index.commit(blobs: pending, packSizes: sizes, snapshot: snapshot)
        markCommitted()
        pending.removeAll(keepingCapacity: true)
        pendingIDs.removeAll(keepingCapacity: true)
        bytesSinceCheckpoint = 0
        commits.add(1, ordering: .releasing)
        afterCommit?()
    }

    private static func fileSize(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Whether the file starts with the pack magic: records appended to a
    /// pack that does not would be invisible to `repair-index`.
    private static func hasPackMagic(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: PackFormat.fileMagic.count)).map { [UInt8]($0) } == PackFormat.fileMagic
    }

    /// The pack to append to: the newest one below the target size whose file
    /// is exactly its committed size (never one that looks damaged), or a new one.
    private func currentPack() throws -> OpenPack {
        if let pack { return pack }
        let sizes = try store.index.packSizes()
        let open: OpenPack
        if appendsToExistingPacks, let (number, size) = sizes.max(by: { $0.key < $1.key }), size < PackFormat.targetPackSize / 2,
           size >= PackFormat.fileMagic.count, !unsynced.contains(where: { $0.number == number }),
           store.gate.claim(number) {
            guard Self.fileSize(store.packPath(number)) == size, Self.hasPackMagic(store.packPath(number)) else {
                store.gate.release(number)
                pack = try newPack()
                unsynced.append(pack!)
                return pack!
            }
            do { open = try OpenPack(path: store.packPath(number), number: number, appendingAt: size, syncs: store.durability == .durable) } catch {
                store.gate.release(number)
                throw error
            }
            uncommitted[number] = (open.path, size)
        } else {
            open = try newPack()
        }
        pack = open
        unsynced.append(open)
        return open
    }

    private func newPack() throws -> OpenPack {
        let highestOnDisk = try store.packFilesOnDisk().keys.max() ?? 0
        let number = try store.gate.claimNew {
            try store.index.allocatePack(headerLength: PackFormat.fileMagic.count, above: highestOnDisk)
        }
        let open: OpenPack
        do { open = try OpenPack(path: store.packPath(number), number: number, appendingAt: nil, syncs: store.durability == .durable) } catch {
            store.gate.release(number)
            throw error
        }
        uncommitted[number] = (open.path, nil)
        return open
    }
}

/// A pack file open for appending, with a write buffer.
final class OpenPack {
    let path: String
    let number: Int64
    private var descriptor: Int32
    private(set) var size: Int
    private var buffer: [UInt8] = []
    /// The directory entry is fsynced on the first sync of every pack we
    /// write: a pack created by a writer that died may exist without it.
    private var needsDirectorySync = true
    private var writtenSinceWriteback = 0
    private static let bufferLimit = 1 << 20
    /// false in a scratch store: no fsync and no early writeback, so pages removed before the
    /// kernel's own writeback are never written at all.
    private let syncs: Bool

    /// Opens an existing pack at its committed size, or creates a new one.
    init(path: String, number: Int64, appendingAt committed: Int?, syncs: Bool = true) throws {
        self.path = path
        self.number = number
        self.syncs = syncs
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RepositoryError.system("open", path: path, hint: "check free space and permissions of the state dir") }
        descriptor = fd
        var info = stat()
        fstat(fd, &info)
        if let committed {
            guard Int(info.st_size) == committed, committed >= PackFormat.fileMagic.count else {
                _ = closeDescriptor(fd)
                throw RepositoryError(.corrupt, "pack \(path) is \(info.st_size) bytes, \(committed) were committed; not appending to it",
                                      hint: "run `barge verify` to see what it affects")
            }
            size = committed
        } else {
            guard info.st_size == 0 else {
                _ = closeDescriptor(fd)
                throw RepositoryError(.corrupt, "new pack \(path) already exists with \(info.st_size) bytes; not overwriting it",
                                      hint: "run `barge repair-index` to take its contents into the index")
            }
            size = 0
            buffer = PackFormat.fileMagic
            size = buffer.count
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        size += bytes.count
        if buffer.count >= Self.bufferLimit { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        let offset = size - buffer.count
        var done = 0
        while done < buffer.count {
            let wrote = buffer.withUnsafeBytes { raw in
                pwrite(descriptor, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
            }
            if wrote < 0 {
                if errno == EINTR { continue }
                throw RepositoryError.system("write", path: path, hint: errno == ENOSPC ? "the disk holding the state dir is full; free space and retry" : nil)
            }
            done += wrote
        }
        writtenSinceWriteback += buffer.count
        buffer.removeAll(keepingCapacity: true)
        // Start writeback now so the fsync at the checkpoint has little left to do.
        if syncs && writtenSinceWriteback >= 8 << 20 {
            _ = barge_start_writeback(descriptor)
            writtenSinceWriteback = 0
        }
    }

    func flushAndSync() throws {
        try flush()
        guard syncs else { return }
        guard fsync(descriptor) == 0 else { throw RepositoryError.system("fsync", path: path) }
        if needsDirectorySync {
            // The directory entry must be durable before any row names the pack.
            let directory = (path as NSString).deletingLastPathComponent
            let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 { fsync(fd); _ = closeDescriptor(fd) }
            needsDirectorySync = false
        }
    }

    func close() {
        if descriptor >= 0 { _ = closeDescriptor(descriptor); descriptor = -1 }
    }
}

private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }
