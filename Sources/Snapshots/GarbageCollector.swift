import Foundation
import Repository

public struct CollectionReport: Sendable {
    public var liveBlobs = 0
    public var deadBlobs = 0
    public var packsDeleted = 0
    public var packsRewritten = 0
    public var bytesReclaimed = 0
    public var bytesCopied = 0
    /// Packs a writer held while gc ran: left for the next run.
    public var packsSkipped = 0
    /// Blobs gc found dead but a writer looked up meanwhile: kept.
    public var blobsRevived = 0
    /// Seconds gc waited for writers that started before it.
    public var waitedSeconds = 0.0
    public var seconds = 0.0
}

/// Reclaims space held by blobs no snapshot references: crash debris, and
/// what forgotten snapshots leave behind. Packs with no live blob are deleted;
/// packs that are mostly dead are rewritten (live blobs copied, fsynced, the
/// index repointed in one transaction, only then the old pack removed).
///
/// Runs beside the writers of its own process (the agent's snapshots and
/// receptions) through the store's `CollectionGate`; readers follow blobs gc
/// moves. The invariant and its proof sketch: "gc while the agent runs" in docs/design.md.
public final class GarbageCollector {
    private let store: Store
    private let decompressor = Decompressor()
    /// A pack is rewritten when at least this share of its bytes is dead.
    public static let rewriteThreshold = 0.25

    /// Called between packs with (packs done, packs to look at).
    public var progress: ((Int, Int) -> Void)?
    /// Tests: runs once gc is active, before it claims packs.
    var afterBegin: (() -> Void)?
    /// Tests: runs after the mark, before unreferenced trees lose their rows.
    var afterMark: (() -> Void)?

    /// The highest pack number with a row when this run began (see `remove`).
    private var highestAtStart: Int64 = 0

    public init(store: Store) { self.store = store }

    public func run() throws -> CollectionReport {
        var report = CollectionReport()
        let started = Date()
        try store.gate.beginCollection()
        defer { store.gate.endCollection() }
        report.waitedSeconds = Date().timeIntervalSince(started)
        try finishDoomedPacks()
        afterBegin?()

        // Packs a writer holds are left alone; the rest cannot change under us now.
        let sizes = try store.index.packSizes()
        let claimed = sizes.keys.filter { store.gate.claim($0) }.sorted()
        defer { store.gate.release(claimed) }
        report.packsSkipped = sizes.count - claimed.count
        let claimedSet = Set(claimed)

        // Rows of claimed packs are final now. Trees of the packs writers hold
        // are listed too: a dead one there must lose its row with the others
        // (a writer that found it would reuse it whole while its chunks go).
        var byPack: [Int64: [BlobLocation]] = [:]
        var heldTrees: [BlobLocation] = []
        try store.index.allBlobs { location in
            if claimedSet.contains(location.pack) {
                byPack[location.pack, default: []].append(location)
            } else if location.kind == .tree {
                heldTrees.append(location)
            }
        }
        var live = try markLive()
        afterMark?()
        try forgetDeadTrees(byPack.values.joined().filter { $0.kind == .tree } + heldTrees, live: &live)
        let dirty = try store.index.dirtyPacks()
        let onDisk = try store.packFilesOnDisk()

        // One writer: rewritten packs share new packs instead of one each.
        let writer = BlobWriter(store: store, checkpointBytes: .max, appendsToExistingPacks: false)
        for (done, pack) in claimed.enumerated() {
            progress?(done, claimed.count)
            let rows = byPack[pack] ?? []
            let liveRows = rows.filter { live.contains($0.id) }
            let deadRows = rows.filter { !live.contains($0.id) }
            let committed = sizes[pack] ?? 0
            let fileSize = onDisk[pack] ?? committed
            // Bytes past the committed size (an interrupted writer's) are dead too.
            let tail = max(0, fileSize - committed)
            let isDirty = dirty.contains(pack)
            // A pack with no blob rows but committed content (repair-index kept
            // it unread: bad magic, no readable record) is evidence: never deleted.
            let unreadKeeper = rows.isEmpty && !isDirty && committed > PackFormat.fileMagic.count
            let emptyRow = rows.isEmpty && !unreadKeeper
            guard !unreadKeeper, !deadRows.isEmpty || tail > 0 || emptyRow || isDirty else { continue }
            let deadBytes = deadRows.reduce(tail) { $0 + PackFormat.headerLength + $1.storedLength }
            let worthIt = liveRows.isEmpty || isDirty || Double(deadBytes) / Double(max(1, fileSize)) >= Self.rewriteThreshold
            guard worthIt else {
                // Not worth a rewrite, but a tail is never read nor appended after: cut it off.
                if tail > 0 {
                    try cutTail(of: pack, at: committed)
                    report.bytesReclaimed += tail
                }
                continue
            }
            let copied = try relocate(pack, live: liveRows, dead: deadRows, with: writer, report: &report)
            try remove(pack)
            if copied == 0 {
                report.packsDeleted += 1
                report.bytesReclaimed += fileSize
            } else {
                report.packsRewritten += 1
                report.bytesReclaimed += max(0, fileSize - copied)
            }
        }
        progress?(claimed.count, claimed.count)
        report.liveBlobs = byPack.values.reduce(0) { $0 + $1.filter { live.contains($0.id) }.count }
        report.deadBlobs = byPack.values.reduce(0) { $0 + $1.filter { !live.contains($0.id) }.count }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Finishes what a killed gc left: packs already out of the index (a
    /// number that has a row again belongs to a newer pack: keep the file).
    private func finishDoomedPacks() throws {
        let rows = try store.index.packSizes()
        highestAtStart = rows.keys.max() ?? 0
        for pack in try store.index.doomedPacks() {
            if rows[pack] == nil { try remove(pack) } else { try store.index.forgetDoomedPack(pack) }
        }
    }

    /// Copies the live records (and any dead one a writer has looked up since
    /// gc began), then, under the gate, commits: copies repointed, the rest's
    /// rows deleted, the pack doomed. Returns the bytes copied.
    private func relocate(_ pack: Int64, live: [BlobLocation], dead: [BlobLocation], with writer: BlobWriter,
                          report: inout CollectionReport) throws -> Int {
        var copied = 0
        for location in live { copied += try copy(location, with: writer) }
        var revived: Set<BlobID> = []
        let deadIDs = dead.map(\.id)
        while true {
            let late = store.gate.used(among: deadIDs).subtracting(revived)
            for location in dead where late.contains(location.id) { copied += try copy(location, with: writer) }
            revived.formUnion(late)
            try writer.sync()
            let committed = try store.gate.decide { used -> Bool in
                guard used.isDisjoint(with: Set(deadIDs).subtracting(revived)) else { return false }
                try writer.commitRelocation(deleted: deadIDs.filter { !revived.contains($0) }, removedPacks: [pack])
                return true
            }
            if committed { break }
        }
        report.blobsRevived += revived.count
        report.bytesCopied += copied
        return copied
    }

    /// Unreferenced trees lose their rows first, all in one transaction: after
    /// it no writer can find one and reuse it without descending into it, so
    /// deleting chunks pack by pack never strands a tree a writer just reused.
    /// Trees a writer found before it are marked live with all they reach.
    /// A tree a writer wrote since gc began (noted too) counts as found: its
    /// snapshot may not be committed yet.
    private func forgetDeadTrees(_ trees: [BlobLocation], live: inout Set<BlobID>) throws {
        let deadTrees = trees.filter { !live.contains($0.id) }
        guard !deadTrees.isEmpty else { return }
        let ids = deadTrees.map(\.id)
        var absorbed: Set<BlobID> = []
        while true {
            let late = store.gate.used(among: ids).subtracting(absorbed)
            try mark(roots: Array(late), into: &live)
            absorbed.formUnion(late)
            let committed = try store.gate.decide { used -> Bool in
                guard used.isDisjoint(with: Set(ids).subtracting(absorbed)) else { return false }
                let doomed = deadTrees.filter { !live.contains($0.id) }
                try store.index.forgetDeadTrees(doomed)
                return true
            }
            if committed { return }
        }
    }

    /// Every blob a snapshot reaches: its record, its trees and their chunks.
    private func markLive() throws -> Set<BlobID> {
        var live: Set<BlobID> = []
        var roots: [BlobID] = []
        for snapshot in try store.snapshots(volume: nil) {
            live.insert(snapshot.id)
            roots.append(snapshot.record.root)
        }
        try mark(roots: roots, into: &live)
        return live
    }

    private func mark(roots: [BlobID], into live: inout Set<BlobID>) throws {
        var pending = roots.filter { live.insert($0).inserted }
        while let id = pending.popLast() {
            let tree: Tree
            do { tree = try Tree.decode(try store.read(id, kind: .tree, using: decompressor)) } catch {
                throw RepositoryError(.corrupt, "gc stopped: tree \(id.short) cannot be read (\(error)); nothing more was deleted",
                                      hint: "run `barge verify --read-data` and repair the store before collecting garbage")
            }
            for entry in tree.entries {
                for chunk in entry.chunks { live.insert(chunk.id) }
                if let subtree = entry.subtree, live.insert(subtree).inserted { pending.append(subtree) }
            }
        }
    }

    /// Copies one record as stored (still compressed), after checking those
    /// same bytes against its id: one read serves both. Returns its size.
    private func copy(_ location: BlobLocation, with writer: BlobWriter) throws -> Int {
        let record = try store.readRun([location])
        try record.withUnsafeBytes { bytes in
            _ = try store.decode(location, from: bytes, using: decompressor)
            try writer.append(id: location.id, kind: location.kind, rawLength: location.rawLength,
                              compression: location.compression,
                              payload: UnsafeRawBufferPointer(rebasing: bytes[PackFormat.headerLength...]))
        }
        return PackFormat.headerLength + location.storedLength
    }

    /// Truncates a claimed pack to its committed size: no row points past it,
    /// and writers append only to packs whose file ends there.
    private func cutTail(of pack: Int64, at committed: Int) throws {
        let path = store.packPath(pack)
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw RepositoryError.system("open", path: path) }
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(committed)) == 0 else { throw RepositoryError.system("ftruncate", path: path) }
        guard fsync(descriptor) == 0 else { throw RepositoryError.system("fsync", path: path) }
    }

    /// Unlinks a doomed pack. The descriptor cache is emptied before and after,
    /// so no reader keeps the old file; the doomed row of the highest number is
    /// kept, so the number is never given to a new pack (a reader holding an
    /// old location must find the pack gone, not a different one).
    private func remove(_ pack: Int64) throws {
        store.forgetPack(pack)
        let path = store.packPath(pack)
        if unlink(path) != 0 && errno != ENOENT { throw RepositoryError.system("unlink", path: path) }
        store.forgetPack(pack)
        Paths.syncDirectory(store.packsDirectory)
        // Below a number that had a row when gc started, this one can never be allocated again
        // (allocation goes above every row and every doomed row); the highest keeps its doomed row.
        if pack < highestAtStart { try store.index.forgetDoomedPack(pack) }
    }
}
