import Foundation
import Repository

public struct Damage: Sendable, Equatable {
    public var pack: String
    public var blob: String
    public var kind: String
    public var error: String
    public var snapshots: [String] = []
    public var paths: [String] = []
}

public struct VerifyReport: Sendable {
    public var packs = 0
    public var blobsChecked = 0
    public var bytesRead: UInt64 = 0
    public var snapshotsChecked = 0
    public var damaged: [Damage] = []
    public var notes: [String] = []
    /// Damaged blobs removed from the index by `--repair`.
    public var dropped = 0
    /// Blobs listed at the start that gc (in the agent) removed before they were read.
    public var collectedMeanwhile = 0
    public var ok: Bool { damaged.isEmpty }
}

/// Checks the store: the index against the packs (headers, or with
/// `readData` every blob decompressed and re-hashed), then every snapshot's
/// trees, so damage is named by pack, blob, snapshot and file.
public final class Verifier {
    private let store: Store
    private let readData: Bool
    private let workers: Int
    private let decompressor = Decompressor()
    private lazy var workerDecompressors: [Decompressor] = (0..<max(1, workers)).map { _ in Decompressor() }
    private var report = VerifyReport()
    private var damage: [BlobID: Damage] = [:]
    /// Packs whose file magic is wrong: every read by offset still works, but
    /// `repair-index` would skip the whole pack.
    private var packDamage: [Damage] = []
    /// Per tree: the paths below it that are damaged, relative to the tree.
    private var damagedBelow: [BlobID: [(path: [UInt8], blob: BlobID)]] = [:]
    private let progress: ((Int) -> Void)?
    /// Tests: runs once the first batch of rows is listed, before it is read.
    var afterListing: (() -> Void)?

    public init(store: Store, readData: Bool, workers: Int = Parallel.defaultWorkers, progress: ((Int) -> Void)? = nil) {
        self.store = store
        self.readData = readData
        self.workers = workers
        self.progress = progress
    }

    public func run() throws -> VerifyReport {
        try checkPacks()
        try checkBlobs()
        try checkSnapshots()
        if report.collectedMeanwhile > 0 {
            report.notes.append("\(report.collectedMeanwhile) blobs were removed by gc (the agent's) between the listing and their check: not damage")
        }
        report.damaged = packDamage + damage.values.sorted { ($0.pack, $0.blob) < ($1.pack, $1.blob) }
        return report
    }

    private func checkPacks() throws {
        let committed = try store.index.packSizes()
        let onDisk = try store.packFilesOnDisk()
        report.packs = committed.count
        for (pack, size) in committed.sorted(by: { $0.key < $1.key }) {
            let name = PackFormat.fileName(pack: pack)
            guard let actual = onDisk[pack] else {
                if size > PackFormat.fileMagic.count { report.notes.append("pack \(name) is missing (\(size) committed bytes)") }
                continue
            }
            if actual < size { report.notes.append("pack \(name) is \(actual) bytes, \(size) were committed: it was truncated") }
            if actual > size {
                report.notes.append("pack \(name) has \(actual - size) bytes past its committed size, left by an interrupted writer; no snapshot uses them")
            }
            if size > PackFormat.fileMagic.count, let handle = FileHandle(forReadingAtPath: store.packPath(pack)) {
                let magic = (try? handle.read(upToCount: PackFormat.fileMagic.count)).map { [UInt8]($0) }
                try? handle.close()
                if magic != PackFormat.fileMagic {
                    packDamage.append(Damage(pack: name, blob: "-", kind: "pack",
                                             error: "the file does not start with the pack magic: `barge repair-index` would skip it and every record in it"))
                }
            }
        }
        for pack in onDisk.keys where committed[pack] == nil {
            report.notes.append("pack \(PackFormat.fileName(pack: pack)) is not in the index; `barge repair-index` would read it")
        }
    }

    private func checkBlobs() throws {
        var batch: [BlobLocation] = []
        try store.index.allBlobs { location in
            batch.append(location)
            if batch.count == 256 { checkBatch(batch); batch.removeAll(keepingCapacity: true) }
        }
        checkBatch(batch)
    }

    private func checkBatch(_ batch: [BlobLocation]) {
        guard !batch.isEmpty else { return }
        if let hook = afterListing { afterListing = nil; hook() }
        let decompressors = workerDecompressors
        var errors = [String?](repeating: nil, count: batch.count)
        let store = store, readData = readData
        errors.withUnsafeMutableBufferPointer { out in
            Parallel.forEach(batch.count, workers: workers) { index, worker in
                let location = batch[index]
                do {
                    if readData {
                        _ = try store.read(location, using: decompressors[worker])
                    } else {
                        let header = try store.readHeader(location)
                        if header.id != location.id || header.kind != location.kind || header.storedLength != location.storedLength
                            || header.rawLength != location.rawLength || header.compression != location.compression {
                            out[index] = "the record at this offset is not this blob"
                        }
                    }
                } catch let error as RepositoryError {
                    out[index] = error.message
                } catch {
                    out[index] = "\(error)"
                }
            }
        }
        for (index, location) in batch.enumerated() {
            // Listed, then collected by the agent's gc before it was read (its row is gone now,
            // moves are followed by the read itself): not damage.
            if errors[index] != nil, (try? store.index.location(of: location.id)).flatMap({ $0 }) == nil {
                report.collectedMeanwhile += 1
                continue
            }
            report.blobsChecked += 1
            report.bytesRead += UInt64(readData ? PackFormat.headerLength + location.storedLength : PackFormat.headerLength)
            if let error = errors[index] {
                damage[location.id] = Damage(pack: PackFormat.fileName(pack: location.pack), blob: location.id.hex,
                                             kind: location.kind.name, error: error)
            }
        }
        progress?(report.blobsChecked)
    }

    private func checkSnapshots() throws {
        for snapshot in try store.snapshots(volume: nil) {
            report.snapshotsChecked += 1
            damage[snapshot.id]?.snapshots.append(snapshot.id.hex)
            for (path, blob) in try damaged(tree: snapshot.record.root) {
                damage[blob]?.snapshots.append(snapshot.id.hex)
                damage[blob]?.paths.append("\(snapshot.record.volume):\(TreeEntry.display(path.isEmpty ? [UInt8(ascii: ".")] : path))")
            }
        }
        for (id, var entry) in damage {
            entry.snapshots = Array(Set(entry.snapshots)).sorted()
            entry.paths = Array(Set(entry.paths)).sorted()
            damage[id] = entry
        }
    }

    /// Damaged paths below a tree, memoized: shared subtrees are read once.
    private func damaged(tree id: BlobID) throws -> [(path: [UInt8], blob: BlobID)] {
        if let known = damagedBelow[id] { return known }
        var found: [(path: [UInt8], blob: BlobID)] = []
        let tree: Tree
        do {
            tree = try Tree.decode(try store.read(id, kind: .tree, using: decompressor))
        } catch let error as RepositoryError {
            if damage[id] == nil {
                damage[id] = Damage(pack: (try? store.index.location(of: id)).flatMap { $0.map { PackFormat.fileName(pack: $0.pack) } } ?? "-",
                                    blob: id.hex, kind: "tree", error: error.message)
            }
            found = [([], id)]
            damagedBelow[id] = found
            return found
        }
        let chunkIDs = Array(Set(tree.entries.flatMap { $0.chunks.map(\.id) }))
        let present = try store.index.locations(of: chunkIDs)
        for entry in tree.entries {
            for chunk in entry.chunks where damage[chunk.id] != nil || present[chunk.id] == nil {
                if present[chunk.id] == nil && damage[chunk.id] == nil {
                    damage[chunk.id] = Damage(pack: "-", blob: chunk.id.hex, kind: "chunk", error: "missing from the index")
                }
                found.append((entry.name, chunk.id))
            }
            if entry.kind == .directory, let subtree = entry.subtree {
                for (path, blob) in try damaged(tree: subtree) {
                    found.append((FileSystem.join(entry.name, path), blob))
                }
            }
        }
        damagedBelow[id] = found
        return found
    }
}
