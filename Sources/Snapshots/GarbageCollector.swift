import Foundation
import Repository

public struct CollectionReport: Sendable {
    public var liveBlobs = 0
    public var deadBlobs = 0
    public var packsDeleted = 0
    public var packsRewritten = 0
    public var bytesReclaimed = 0
    public var bytesCopied = 0
}

/// Reclaims space held by blobs no snapshot references: crash debris, and
/// what forgotten snapshots leave behind. Packs with no live blob are deleted;
/// packs that are mostly dead are rewritten (live blobs copied, fsynced, the
/// index repointed in one transaction, only then the old pack removed).
/// Runs with exclusive access: no reader can be using a pack it deletes.
public final class GarbageCollector {
    private let store: Store
    private let decompressor = Decompressor()
    /// A pack is rewritten when at least this share of its bytes is dead.
    public static let rewriteThreshold = 0.25

    public init(store: Store) { self.store = store }

    public func run() throws -> CollectionReport {
        var report = CollectionReport()
        // Finish what a killed gc left: packs already out of the index (a
        // number that has a row again belongs to a newer pack: keep the file).
        let rows = try store.index.packSizes()
        for pack in try store.index.doomedPacks() {
            if rows[pack] == nil { try remove(pack) } else { try store.index.forgetDoomedPack(pack) }
        }
        let live = try markLive()
        var byPack: [Int64: (live: [BlobLocation], dead: [BlobLocation])] = [:]
        try store.index.allBlobs { location in
            if live.contains(location.id) {
                byPack[location.pack, default: ([], [])].live.append(location)
            } else {
                byPack[location.pack, default: ([], [])].dead.append(location)
            }
        }
        report.liveBlobs = byPack.values.reduce(0) { $0 + $1.live.count }
        report.deadBlobs = byPack.values.reduce(0) { $0 + $1.dead.count }
        let sizes = try store.index.packSizes()
        let onDisk = try store.packFilesOnDisk()
        // One writer: rewritten packs share new packs instead of one each.
        let writer = BlobWriter(store: store, checkpointBytes: .max, appendsToExistingPacks: false)
        for pack in sizes.keys.sorted() {
            let blobs = byPack[pack] ?? ([], [])
            // Bytes past the committed size (an interrupted writer's) are dead too.
            let tail = max(0, (onDisk[pack] ?? 0) - (sizes[pack] ?? 0))
            // A pack with no blob rows but committed content (repair-index kept
            // it unread: bad magic, no readable record) is evidence: never deleted.
            let unreadKeeper = blobs.live.isEmpty && blobs.dead.isEmpty && (sizes[pack] ?? 0) > PackFormat.fileMagic.count
            let emptyRow = blobs.live.isEmpty && blobs.dead.isEmpty && !unreadKeeper
            guard !unreadKeeper, !blobs.dead.isEmpty || tail > 0 || emptyRow else { continue }
            let deadBytes = blobs.dead.reduce(tail) { $0 + PackFormat.headerLength + $1.storedLength }
            let total = max(1, onDisk[pack] ?? sizes[pack] ?? 1)
            if blobs.live.isEmpty {
                try writer.commitRelocation(deleted: blobs.dead.map(\.id), removedPacks: [pack])
                try remove(pack)
                report.packsDeleted += 1
                report.bytesReclaimed += onDisk[pack] ?? 0
            } else if Double(deadBytes) / Double(total) >= Self.rewriteThreshold {
                for location in blobs.live { try copy(location, with: writer, report: &report) }
                try writer.commitRelocation(deleted: blobs.dead.map(\.id), removedPacks: [pack])
                try remove(pack)
                report.packsRewritten += 1
                report.bytesReclaimed += deadBytes
            }
        }
        return report
    }

    /// Every blob a snapshot reaches: its record, its trees and their chunks.
    private func markLive() throws -> Set<BlobID> {
        var live: Set<BlobID> = []
        var pending: [BlobID] = []
        for snapshot in try store.snapshots(volume: nil) {
            live.insert(snapshot.id)
            if live.insert(snapshot.record.root).inserted { pending.append(snapshot.record.root) }
        }
        while let id = pending.popLast() {
            let tree: Tree
            do { tree = try Tree.decode(try store.read(id, kind: .tree, using: decompressor)) } catch {
                throw RepositoryError(.corrupt, "gc stopped: tree \(id.short) cannot be read (\(error)); nothing was deleted",
                                      hint: "run `barge verify --read-data` and repair the store before collecting garbage")
            }
            for entry in tree.entries {
                for chunk in entry.chunks { live.insert(chunk.id) }
                if let subtree = entry.subtree, live.insert(subtree).inserted { pending.append(subtree) }
            }
        }
        return live
    }

    /// Copies one record as stored (still compressed), after checking those
    /// same bytes against its id: one read serves both.
    private func copy(_ location: BlobLocation, with writer: BlobWriter, report: inout CollectionReport) throws {
        let record = try store.readRun([location])
        try record.withUnsafeBytes { bytes in
            _ = try store.decode(location, from: bytes, using: decompressor)
            try writer.append(id: location.id, kind: location.kind, rawLength: location.rawLength,
                              compression: location.compression,
                              payload: UnsafeRawBufferPointer(rebasing: bytes[PackFormat.headerLength...]))
        }
        report.bytesCopied += PackFormat.headerLength + location.storedLength
    }

    private func remove(_ pack: Int64) throws {
        store.forgetPack(pack)
        let path = store.packPath(pack)
        if unlink(path) != 0 && errno != ENOENT { throw RepositoryError.system("unlink", path: path) }
        Paths.syncDirectory(store.packsDirectory)
        try store.index.forgetDoomedPack(pack)
    }
}
