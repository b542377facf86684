import Dispatch
import Foundation
import Repository
import S3
import Snapshots

public struct UploadReport: Sendable, Codable, Equatable {
    public var volume: String
    public var snapshot: String
    /// The catalog listed the snapshot already: nothing was sent.
    public var alreadyThere: Bool
    public var blobsNeeded: Int
    public var blobsUploaded: Int
    public var packsUploaded: Int
    /// Sealed bytes of every object this upload stored (packs, indexes, catalog).
    public var bytesUploaded: Int
    public var catalogGeneration: UInt64
    public var seconds: Double
}

public struct UploadProgress: Sendable {
    public var blobsDone: Int
    public var blobsTotal: Int
    public var bytesUploaded: Int
}

/// Sends one local snapshot to the copy: what the bucket lacks goes up in new sealed packs
/// (chunks and trees in separate packs, so a restore fetches all trees first), each followed
/// by its index; the snapshot is listed last, by a new catalog generation. A kill at any
/// point leaves the previous catalog intact; packs whose index landed are reused by the next
/// run, so at most the packs in flight are sent again.
public final class OffsiteUploader: Sendable {
    private let store: Store
    private let repository: OffsiteRepository
    private let cache: String?
    private let progress: (@Sendable (UploadProgress) -> Void)?
    private let reader = DiskQueue(label: "barge.offsite.reader")
    /// Tests run a gc here, between sending the blobs and listing the snapshot.
    let beforeListing: (@Sendable () async throws -> Void)?

    public convenience init(store: Store, repository: OffsiteRepository, cache: String?,
                            progress: (@Sendable (UploadProgress) -> Void)? = nil) {
        self.init(store: store, repository: repository, cache: cache, progress: progress, beforeListing: nil)
    }

    init(store: Store, repository: OffsiteRepository, cache: String?,
         progress: (@Sendable (UploadProgress) -> Void)?, beforeListing: (@Sendable () async throws -> Void)?) {
        self.beforeListing = beforeListing
        self.store = store
        self.repository = repository
        self.cache = cache
        self.progress = progress
    }

    public func upload(_ snapshot: StoredSnapshot) async throws(OffsiteError) -> UploadReport {
        let started = Date()
        var report = UploadReport(volume: snapshot.record.volume, snapshot: snapshot.id.hex, alreadyThere: false,
                                  blobsNeeded: 0, blobsUploaded: 0, packsUploaded: 0, bytesUploaded: 0,
                                  catalogGeneration: 0, seconds: 0)
        var catalog = try await repository.latestCatalog()
        if catalog.snapshots.contains(where: { $0.id == snapshot.id }) {
            report.alreadyThere = true
            report.catalogGeneration = catalog.generation
            report.seconds = Date().timeIntervalSince(started)
            return report
        }
        // What this upload reuses must still be there when it lists the snapshot: a gc that
        // ran (or was running) meanwhile makes it look again.
        var seenCollections: UInt64? = catalog.collecting ? nil : catalog.collections
        let needed = try await onReader { try self.neededBlobs(root: snapshot.record.root) }
        report.blobsNeeded = needed.count
        try await sendMissing(needed, from: try await repository.loadBlobs(cache: cache), into: &report)
        do { try await beforeListing?() } catch { throw OffsiteError(.local, "test hook failed", underlying: error) }

        // Waiting for a gc counts separately from losing a race to another writer.
        var races = 0
        while races < 50 {
            if catalog.snapshots.contains(where: { $0.id == snapshot.id }) { break }
            if catalog.collecting && Clock.wallNanoseconds() - catalog.collectingSince < Catalog.staleCollection {
                try? await Task.sleep(for: .seconds(1))
                catalog = try await repository.latestCatalog()
                continue
            }
            if seenCollections != catalog.collections {
                let remote = try await repository.loadBlobs(cache: cache).keepingStoredPacks(try await repository.list(ObjectName.dataPrefix))
                try await sendMissing(needed, from: remote, into: &report)
                seenCollections = catalog.collections
                catalog = try await repository.latestCatalog()
                continue
            }
            var next = catalog
            next.generation += 1
            next.snapshots.append(snapshot)
            let encoded = next.encoded()
            if try await repository.commit(next) {
                report.bytesUploaded += encoded.count + SealedObject.overhead
                catalog = next
                break
            }
            races += 1
            catalog = try await repository.latestCatalog()
        }
        guard catalog.snapshots.contains(where: { $0.id == snapshot.id }) else {
            throw OffsiteError(.contention, "the catalog of \(repository.target.describe) kept changing; snapshot \(snapshot.id.short) is uploaded but not listed",
                               hint: "run the upload again: it lists the snapshot without sending its data again")
        }
        report.catalogGeneration = catalog.generation
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Every tree and chunk the snapshot reaches, once, where the local store has it.
    private func neededBlobs(root: BlobID) throws -> [BlobLocation] {
        let decompressor = Decompressor()
        var seen: Set<BlobID> = [root]
        var pending = [root]
        var found: [BlobLocation] = []
        while let id = pending.popLast() {
            guard let location = try store.index.location(of: id), location.kind == .tree else {
                throw RepositoryError(.missing, "tree \(id.short) is not in the local store")
            }
            found.append(location)
            let tree = try Tree.decode(try store.read(location, using: decompressor))
            var chunkIDs: [BlobID] = []
            for entry in tree.entries {
                for chunk in entry.chunks where seen.insert(chunk.id).inserted { chunkIDs.append(chunk.id) }
                if let subtree = entry.subtree, seen.insert(subtree).inserted { pending.append(subtree) }
            }
            let locations = try store.index.locations(of: chunkIDs)
            for chunk in chunkIDs {
                guard let location = locations[chunk] else { throw RepositoryError(.missing, "chunk \(chunk.short) is not in the local store") }
                found.append(location)
            }
        }
        return found
    }

    /// Uploads the needed blobs `remote` lacks: chunk packs first, then tree packs.
    private func sendMissing(_ needed: [BlobLocation], from remote: RemoteBlobs, into report: inout UploadReport) async throws(OffsiteError) {
        let missing = needed.filter { !remote.contains($0.id) }
        let chunks = missing.filter { $0.kind == .chunk }.sorted { ($0.pack, $0.offset) < ($1.pack, $1.offset) }
        let trees = missing.filter { $0.kind == .tree }.sorted { ($0.pack, $0.offset) < ($1.pack, $1.offset) }
        let total = missing.count
        var done = 0
        var bytes = 0
        var packs = 0
        let limit = repository.target.concurrency
        do {
            try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                var inFlight = 0
                for batch in [chunks, trees] {
                    var start = 0
                    while start < batch.count {
                        let from = start
                        let (pack, end) = try await onReader { try self.buildPack(batch, from: from) }
                        start = end
                        if inFlight == limit, let (blobs, sent) = try await group.next() {
                            inFlight -= 1
                            done += blobs; bytes += sent; packs += 1
                            progress?(UploadProgress(blobsDone: done, blobsTotal: total, bytesUploaded: bytes))
                        }
                        let box = PackBox(pack)
                        group.addTask { (box.count, try await self.repository.store(box)) }
                        inFlight += 1
                    }
                }
                while let (blobs, sent) = try await group.next() {
                    done += blobs; bytes += sent; packs += 1
                    progress?(UploadProgress(blobsDone: done, blobsTotal: total, bytesUploaded: bytes))
                }
            }
        } catch let error as OffsiteError {
            throw error
        } catch {
            throw OffsiteError(.local, "reading the local store for the upload failed: \(error)",
                               hint: "run `barge verify --read-data` on this node", underlying: error)
        }
        report.blobsUploaded += done
        report.bytesUploaded += bytes
        report.packsUploaded += packs
    }

    /// Reads records from `start` on (adjacent ones in one read), checks each against its id,
    /// and lays them out raw as a pack of at most the pack size (one larger record alone).
    private func buildPack(_ locations: [BlobLocation], from start: Int) throws -> (PackBuilder, Int) {
        let decompressor = Decompressor()
        let packSize = repository.target.packSize
        func laidOut(_ location: BlobLocation) -> Int { PackFormat.headerLength + location.rawLength }
        var builder = PackBuilder(capacity: max(packSize, PackFormat.fileMagic.count + laidOut(locations[start])))
        var index = start
        while index < locations.count && (builder.count == 0 || builder.size + laidOut(locations[index]) <= packSize) {
            var end = index + 1
            var runEnd = locations[index].offset + PackFormat.headerLength + locations[index].storedLength
            // The run ends where its records, raw, would not fit: compressed records expand, and
            // a pack past its reserved size would be copied into one twice as large.
            var size = builder.size + laidOut(locations[index])
            while end < locations.count, locations[end].pack == locations[index].pack, locations[end].offset == runEnd,
                  runEnd - locations[index].offset < 4 << 20, size + laidOut(locations[end]) <= packSize {
                runEnd += PackFormat.headerLength + locations[end].storedLength
                size += laidOut(locations[end])
                end += 1
            }
            let run = locations[index..<end]
            let bytes = try store.readRun(run)
            try bytes.withUnsafeBytes { stored in
                var offset = 0
                for location in run {
                    let length = PackFormat.headerLength + location.storedLength
                    let record = UnsafeRawBufferPointer(rebasing: stored[offset..<(offset + length)])
                    // Checked, then kept raw: the pack is compressed whole.
                    builder.appendRaw(id: location.id, kind: location.kind, raw: try store.decode(location, from: record, using: decompressor))
                    offset += length
                }
            }
            index = end
        }
        return (builder, index)
    }

    private func onReader<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(OffsiteError) -> T {
        try await reader.run(body)
    }
}
