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
        let newest = sizes.keys.max() ?? 0
        // One writer: rewritten packs share new packs instead of one each.
        let writer = BlobWriter(store: store, checkpointBytes: .max, appendsToExistingPacks: false)
        for (pack, blobs) in byPack.sorted(by: { $0.key < $1.key }) where !blobs.dead.isEmpty {
            let deadBytes = blobs.dead.reduce(0) { $0 + PackFormat.headerLength + $1.storedLength }
            let total = max(1, sizes[pack] ?? 1)
            if blobs.live.isEmpty {
                try writer.commitRelocation(deleted: blobs.dead.map(\.id), removedPacks: [pack])
                try remove(pack)
                report.packsDeleted += 1
                report.bytesReclaimed += total
            } else if Double(deadBytes) / Double(total) >= Self.rewriteThreshold {
                for location in blobs.live { try copy(location, with: writer, report: &report) }
                try writer.commitRelocation(deleted: blobs.dead.map(\.id), removedPacks: [pack])
                try remove(pack)
                report.packsRewritten += 1
                report.bytesReclaimed += deadBytes
            }
        }
        // Packs a gc deleted from the index but died before unlinking.
        for (pack, _) in try store.packFilesOnDisk() where sizes[pack] == nil && pack <= newest {
            try remove(pack)
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

    /// Copies one record as stored (still compressed) after checking its hash.
    private func copy(_ location: BlobLocation, with writer: BlobWriter, report: inout CollectionReport) throws {
        _ = try store.read(location, using: decompressor)
        let record = try store.readRecord(location)
        try record.withUnsafeBytes { payload in
            try writer.append(id: location.id, kind: location.kind, rawLength: location.rawLength,
                              compression: location.compression, payload: payload)
        }
        report.bytesCopied += PackFormat.headerLength + location.storedLength
    }

    private func remove(_ pack: Int64) throws {
        store.forgetPack(pack)
        let path = store.packPath(pack)
        if unlink(path) != 0 && errno != ENOENT { throw RepositoryError.system("unlink", path: path) }
        Paths.syncDirectory(store.packsDirectory)
    }
}
