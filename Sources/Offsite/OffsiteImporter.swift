import Foundation
import Repository
import Snapshots

public struct ImportReport: Sendable, Codable, Equatable {
    public var volume: String
    public var snapshot: String
    public var packsFetched: Int
    public var blobsFetched: Int
    /// Blobs the local store had already (a resumed import, or history shared with another snapshot).
    public var blobsAlreadyLocal: Int
    public var bytesDownloaded: Int
    public var seconds: Double
}

public struct ImportProgress: Sendable {
    public var packsDone: Int
    public var packsTotal: Int
    public var bytesDownloaded: Int
}

/// Brings one snapshot from the copy into a local store: its trees are walked in the bucket
/// (each tree pack fetched once), then every pack holding chunks the store lacks is fetched
/// once, `concurrency` at a time, and last the trees the store lacks are stored children
/// first. So a tree in the store always has everything under it (the rule replication's
/// resume relies on), each record is checked against its id before it is stored, and the
/// snapshot record is committed last: a killed import leaves no snapshot and a new run
/// fetches only what is still missing.
public final class OffsiteImporter: Sendable {
    private let store: Store
    private let repository: OffsiteRepository
    private let cache: String?
    private let progress: (@Sendable (ImportProgress) -> Void)?
    private let disk = DiskQueue(label: "barge.offsite.import")
    private let writer: UncheckedWriter

    public init(store: Store, repository: OffsiteRepository, cache: String?,
                progress: (@Sendable (ImportProgress) -> Void)? = nil) {
        self.store = store
        self.repository = repository
        self.cache = cache
        self.progress = progress
        writer = UncheckedWriter(BlobWriter(store: store))
    }

    /// With `arrivals`, a restore reads the snapshot while it comes: every walked tree is
    /// published, packs come in the order the restore needs them, and each is committed
    /// (a checkpoint) as soon as it is stored. `arrivals` is finished or failed before this returns.
    public func importSnapshot(_ snapshot: StoredSnapshot, arrivals: BlobArrivals? = nil) async throws(OffsiteError) -> ImportReport {
        do {
            let report = try await importing(snapshot, arrivals: arrivals)
            arrivals?.finish()
            return report
        } catch {
            // Decided before the reader hears of it: a reader that fails cancels the import, and the
            // failure its cancellation causes (of whatever kind) is then no cause of its own.
            let failure = Task.isCancelled ? OffsiteError(.cancelled, "the import was cancelled: the restore reading it stopped",
                                                          underlying: error) : error
            arrivals?.fail(RepositoryError(.io, "the import from \(repository.target.describe) stopped: \(error.message)", underlying: error))
            throw failure
        }
    }

    private func importing(_ snapshot: StoredSnapshot, arrivals: BlobArrivals?) async throws(OffsiteError) -> ImportReport {
        let started = Date()
        if let arrivals { writer.value.afterCommit = { arrivals.checkpointed() } }
        var report = ImportReport(volume: snapshot.record.volume, snapshot: snapshot.id.hex, packsFetched: 0,
                                  blobsFetched: 0, blobsAlreadyLocal: 0, bytesDownloaded: 0, seconds: 0)
        let remote = try await repository.loadBlobs(cache: cache)
        let root = snapshot.record.root

        // Trees the store has are whole (stored children first): the walk stops there.
        var walker = RemoteTreeWalker(repository: repository, remote: remote)
        if try await onDisk({ try self.writer.value.known([root]) }).isEmpty {
            let reached = try await walker.reachable(from: [root])
            report.bytesDownloaded += walker.bytesFetched
            report.packsFetched += walker.packsFetched
            let ids = Array(reached)
            let here = try await onDisk { try self.writer.value.known(ids) }
            report.blobsAlreadyLocal = here.count
            var byPack: [String: [Int]] = [:]
            for id in reached where !here.contains(id) {
                let place = try self.place(of: id, in: remote)
                if remote.entry(place).kind == .chunk { byPack[place.pack, default: []].append(place.entry) }
            }
            var packs = Array(byPack.keys)
            if let arrivals {
                let decompressor = Decompressor()
                for tree in walker.subtrees.keys { arrivals.publish(tree: tree, raw: try walker.rawTree(tree, decompressor)) }
                packs = try walker.packsInRestoreOrder(from: root, wanted: byPack)
            }
            try await fetchChunks(packs, byPack, remote: remote, committingEach: arrivals != nil, into: &report)
            let trees = try postOrder(root, walker: walker, known: here)
            try await onDisk {
                for (entry, bytes) in trees { try self.keep([entry], of: Array(bytes), base: bytes.startIndex, pack: "trees") }
            }
            report.blobsFetched += trees.count
        }

        let committed = try await onDisk { try self.writer.value.commit(snapshot.record, compressor: Compressor(codec: .zstd, level: 3)) }
        guard committed == snapshot.id else {
            throw OffsiteError(.malformed, "snapshot \(snapshot.id.short) re-encodes to \(committed.short) locally")
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Each pack holding chunks the store lacks, fetched once, `concurrency` at a time, started in
    /// the order of `packs`. `committingEach`: a checkpoint after each pack (a restore is waiting).
    private func fetchChunks(_ packs: [String], _ byPack: [String: [Int]], remote: RemoteBlobs, committingEach: Bool,
                             into report: inout ImportReport) async throws(OffsiteError) {
        let total = packs.count
        do {
            try await withThrowingTaskGroup(of: (String, Data).self) { group in
                var next = 0
                func start() {
                    guard next < packs.count else { return }
                    let pack = packs[next]
                    next += 1
                    let index = remote.packs[pack]!
                    group.addTask { (pack, try await self.repository.fetchOpened(pack, index)) }
                }
                for _ in 0..<repository.target.concurrency { start() }
                var done = 0
                while let (pack, opened) = try await group.next() {
                    if Task.isCancelled { throw OffsiteError(.cancelled, "the import was cancelled: the restore reading it stopped") }
                    let index = remote.packs[pack]!
                    let entries = byPack[pack]!.map { index.entries[$0] }
                    // Decompressed one at a time here, not in the transfers: in flight they stay compressed.
                    try await onDisk {
                        try self.keep(entries, of: try OffsiteRepository.unpack(opened, pack, index), base: 0, pack: pack)
                        if committingEach { try self.writer.value.checkpoint() }
                    }
                    done += 1
                    report.packsFetched += 1
                    report.blobsFetched += entries.count
                    report.bytesDownloaded += index.sealedLength
                    progress?(ImportProgress(packsDone: done, packsTotal: total, bytesDownloaded: report.bytesDownloaded))
                    start()
                }
            }
        } catch let error as OffsiteError {
            throw error
        } catch {
            throw OffsiteError(.local, "import failed: \(error)", underlying: error)
        }
    }

    /// The trees under `root` the store lacks, children before parents, with their records.
    private func postOrder(_ root: BlobID, walker: RemoteTreeWalker, known: Set<BlobID>) throws(OffsiteError) -> [(PackIndex.Entry, ArraySlice<UInt8>)] {
        var out: [(PackIndex.Entry, ArraySlice<UInt8>)] = []
        var done: Set<BlobID> = known
        var stack: [(id: BlobID, expanded: Bool)] = [(root, false)]
        while let (id, expanded) = stack.popLast() {
            if done.contains(id) { continue }
            if expanded {
                done.insert(id)
                guard let record = walker.record(of: id) else {
                    throw OffsiteError(.missing, "tree \(id.short) was walked but its record is gone")
                }
                out.append(record)
            } else {
                stack.append((id, true))
                for child in (walker.subtrees[id] ?? []).reversed() where !done.contains(child) { stack.append((child, false)) }
            }
        }
        return out
    }

    private func place(of id: BlobID, in remote: RemoteBlobs) throws(OffsiteError) -> RemoteBlobs.Place {
        guard let place = remote.place(of: id) else {
            throw OffsiteError(.missing, "blob \(id.short) of the snapshot is in no pack index of \(repository.target.describe)",
                               hint: "the copy is damaged or a gc removed it; run `barge verify --offsite \(repository.target.name)` and restore another snapshot")
        }
        return place
    }

    /// Checks each record against its id and appends it to the store. `plain` holds the pack
    /// from byte `base` on.
    private func keep(_ entries: [PackIndex.Entry], of plain: [UInt8], base: Int, pack: String) throws {
        let decompressor = Decompressor()
        let writer = self.writer.value
        try plain.withUnsafeBytes { bytes in
            for entry in entries {
                let record = try entry.checkedRecord(in: bytes, base: base, pack: pack, decompressor: decompressor).record
                try writer.append(id: entry.id, kind: entry.kind, rawLength: entry.rawLength, compression: entry.compression,
                                  payload: UnsafeRawBufferPointer(rebasing: record[PackFormat.headerLength...]))
            }
        }
    }

    private func onDisk<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(OffsiteError) -> T {
        try await disk.run(body)
    }
}

/// The writer is used only on the importer's serial queue.
final class UncheckedWriter: @unchecked Sendable {
    let value: BlobWriter
    init(_ value: BlobWriter) { self.value = value }
}
