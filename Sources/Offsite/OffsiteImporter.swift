import Dispatch
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

/// Brings one snapshot from the copy into a local store: its trees first (a tree pack is
/// fetched once and all its trees kept), then the packs holding chunks the store lacks,
/// each fetched once. Every record is checked against its id before it is stored, and the
/// snapshot record is committed last, so a killed import leaves no snapshot and a new run
/// fetches only what is still missing.
public final class OffsiteImporter: Sendable {
    private let store: Store
    private let repository: OffsiteRepository
    private let cache: String?
    private let progress: (@Sendable (ImportProgress) -> Void)?
    private let disk = DispatchQueue(label: "barge.offsite.import")
    private let writer: UncheckedWriter

    public init(store: Store, repository: OffsiteRepository, cache: String?,
                progress: (@Sendable (ImportProgress) -> Void)? = nil) {
        self.store = store
        self.repository = repository
        self.cache = cache
        self.progress = progress
        writer = UncheckedWriter(BlobWriter(store: store))
    }

    public func importSnapshot(_ snapshot: StoredSnapshot) async throws(OffsiteError) -> ImportReport {
        let started = Date()
        var report = ImportReport(volume: snapshot.record.volume, snapshot: snapshot.id.hex, packsFetched: 0,
                                  blobsFetched: 0, blobsAlreadyLocal: 0, bytesDownloaded: 0, seconds: 0)
        let remote = try await repository.loadBlobs(cache: cache)

        // Trees: walk from the root; a tree not here brings its whole pack's trees.
        var chunks: Set<BlobID> = []
        var seen: Set<BlobID> = [snapshot.record.root]
        var pending = [snapshot.record.root]
        while !pending.isEmpty {
            let asked = pending
            let here = try await onDisk { try self.writer.value.known(asked) }
            let wanted = pending.filter { !here.contains($0) }
            if !wanted.isEmpty {
                for pack in Set(try wanted.map { id throws(OffsiteError) in try self.place(of: id, in: remote).pack }) {
                    let index = remote.packs[pack]!
                    let plain = try await repository.fetchPack(pack, index)
                    report.packsFetched += 1
                    report.bytesDownloaded += index.sealedLength
                    let trees = index.entries.filter { $0.kind == .tree }
                    // Indexed at once, so the walk below reads them like any stored tree.
                    try await onDisk {
                        try self.keep(trees, of: plain, pack: pack)
                        try self.writer.value.checkpoint()
                    }
                    report.blobsFetched += trees.count
                }
            }
            let level = pending
            pending = []
            let children = try await onDisk { try self.children(of: level) }
            for subtree in children.trees where seen.insert(subtree).inserted { pending.append(subtree) }
            chunks.formUnion(children.chunks)
        }

        // Chunks: each pack holding any the store lacks, fetched once, `concurrency` at a time.
        let needed = Array(chunks)
        let local = try await onDisk { try self.writer.value.known(needed) }
        report.blobsAlreadyLocal = local.count
        var byPack: [String: [Int]] = [:]
        for id in chunks where !local.contains(id) {
            let place = try self.place(of: id, in: remote)
            byPack[place.pack, default: []].append(place.entry)
        }
        let packs = Array(byPack.keys)
        let total = packs.count
        do {
            try await withThrowingTaskGroup(of: (String, [UInt8]).self) { group in
                var next = 0
                func start() {
                    guard next < packs.count else { return }
                    let pack = packs[next]
                    next += 1
                    let index = remote.packs[pack]!
                    group.addTask { (pack, try await self.repository.fetchPack(pack, index)) }
                }
                for _ in 0..<repository.target.concurrency { start() }
                var done = 0
                while let (pack, plain) = try await group.next() {
                    let index = remote.packs[pack]!
                    let entries = byPack[pack]!.map { index.entries[$0] }
                    try await onDisk { try self.keep(entries, of: plain, pack: pack) }
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

        let committed = try await onDisk { try self.writer.value.commit(snapshot.record, compressor: Compressor(level: 3)) }
        guard committed == snapshot.id else {
            throw OffsiteError(.malformed, "snapshot \(snapshot.id.short) re-encodes to \(committed.short) locally")
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    private func place(of id: BlobID, in remote: RemoteBlobs) throws(OffsiteError) -> RemoteBlobs.Place {
        guard let place = remote.place(of: id) else {
            throw OffsiteError(.missing, "blob \(id.short) of the snapshot is in no pack index of \(repository.target.describe)",
                               hint: "the copy is damaged or a gc removed it; run `barge verify --offsite \(repository.target.name)` and restore another snapshot")
        }
        return place
    }

    /// Checks each record against its id and appends it to the store.
    private func keep(_ entries: [PackIndex.Entry], of plain: [UInt8], pack: String) throws {
        let decompressor = Decompressor()
        let writer = self.writer.value
        try plain.withUnsafeBytes { bytes in
            for entry in entries {
                let end = entry.offset + PackFormat.headerLength + entry.storedLength
                guard end <= bytes.count else { throw OffsiteError(.malformed, "\(ObjectName.pack(pack)): entry \(entry.id.short) runs past the end") }
                let record = UnsafeRawBufferPointer(rebasing: bytes[entry.offset..<end])
                let location = BlobLocation(id: entry.id, kind: entry.kind, pack: 0, offset: entry.offset,
                                            storedLength: entry.storedLength, rawLength: entry.rawLength, compression: entry.compression)
                do { _ = try Store.decodeRecord(location, from: record, using: decompressor) } catch {
                    throw OffsiteError(.tampered, "\(ObjectName.pack(pack)): \(entry.kind.name) \(entry.id.short) fails its check (\(error))",
                                       hint: "nothing from it was stored; run `barge verify --offsite NAME --read-data`")
                }
                try writer.append(id: entry.id, kind: entry.kind, rawLength: entry.rawLength, compression: entry.compression,
                                  payload: UnsafeRawBufferPointer(rebasing: record[PackFormat.headerLength...]))
            }
        }
    }

    private func children(of trees: [BlobID]) throws -> (trees: [BlobID], chunks: [BlobID]) {
        let decompressor = Decompressor()
        var subtrees: [BlobID] = []
        var chunks: [BlobID] = []
        for id in trees {
            for entry in try Tree.decode(try store.read(id, kind: .tree, using: decompressor)).entries {
                chunks += entry.chunks.map(\.id)
                if let subtree = entry.subtree { subtrees.append(subtree) }
            }
        }
        return (subtrees, chunks)
    }

    private func onDisk<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(OffsiteError) -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            disk.async { continuation.resume(returning: Result { try body() }) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error as OffsiteError): throw error
        case .failure(let error):
            throw OffsiteError(.local, "the local store failed: \(error)", underlying: error)
        }
    }
}

/// The writer is used only on the importer's serial queue.
final class UncheckedWriter: @unchecked Sendable {
    let value: BlobWriter
    init(_ value: BlobWriter) { self.value = value }
}
