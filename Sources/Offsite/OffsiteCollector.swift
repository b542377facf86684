import Foundation
import Repository
import Retention

public struct OffsiteForgetReport: Sendable, Codable {
    public var volume: String
    public var dryRun: Bool
    public var verdicts: [RetentionVerdict]
    public var forgotten: [String]
    public var catalogGeneration: UInt64
}

public struct OffsiteGCReport: Sendable, Codable {
    public var liveBlobs: Int
    public var packsDeleted: Int
    /// Packs with more than `repackThreshold` dead: their live records went into new packs.
    public var packsRepacked: Int
    public var bytesRepacked: Int
    /// Packs with some dead records, below the threshold; kept whole.
    public var packsPartlyDead: Int
    public var deadBytesKept: Int
    /// Data objects without an index (an upload killed between the two), seen by two runs in a row.
    public var orphansDeleted: Int
    /// Catalog generations older than the newest `catalogsKept`.
    public var catalogsDeleted: Int
    public var bytesDeleted: Int
    public var seconds: Double
}

/// Retention and garbage collection on the copy. Forgetting writes a catalog generation
/// without the snapshots; gc raises the catalog's gc flag (uploaders wait, and afterwards
/// check again what they reuse), marks every blob a listed snapshot reaches, and deletes
/// packs holding nothing marked: the index object first, then the pack, so an index that
/// exists always names a stored pack.
public final class OffsiteCollector: Sendable {
    private let repository: OffsiteRepository
    private let cache: String?

    public init(repository: OffsiteRepository, cache: String?) {
        self.repository = repository
        self.cache = cache
    }

    public func forget(volume: String, policy: RetentionPolicy, dryRun: Bool,
                       now: Int64? = nil) async throws(OffsiteError) -> OffsiteForgetReport {
        let now = now ?? Clock.wallNanoseconds()
        for _ in 0..<50 {
            let catalog = try await repository.latestCatalog()
            let mine = catalog.snapshots.filter { $0.record.volume == volume }
            let verdicts = RetentionPlan.verdicts(policy, for: mine.map {
                RetentionCandidate(id: $0.id.hex, timeNanoseconds: $0.record.timeNanoseconds, state: $0.record.state)
            }, now: now)
            let doomed = Set(verdicts.filter { !$0.keep }.map(\.id))
            var report = OffsiteForgetReport(volume: volume, dryRun: dryRun, verdicts: verdicts, forgotten: doomed.sorted(),
                                             catalogGeneration: catalog.generation)
            if dryRun || doomed.isEmpty { return report }
            var next = catalog
            next.generation += 1
            next.snapshots.removeAll { doomed.contains($0.id.hex) }
            if try await repository.commit(next) {
                report.catalogGeneration = next.generation
                return report
            }
        }
        throw OffsiteError(.contention, "the catalog of \(repository.target.describe) kept changing; nothing was forgotten",
                           hint: "run the command again")
    }

    public func collect() async throws(OffsiteError) -> OffsiteGCReport {
        let started = Date()
        // Listed before the flag goes up: a pack an uploader stores after this is not a candidate.
        let indexes = try await repository.list(ObjectName.indexPrefix)
        let data = try await repository.list(ObjectName.dataPrefix)
        let raised = try await setFlag(raising: true)
        var report = OffsiteGCReport(liveBlobs: 0, packsDeleted: 0, packsRepacked: 0, bytesRepacked: 0, packsPartlyDead: 0,
                                     deadBytesKept: 0, orphansDeleted: 0, catalogsDeleted: 0, bytesDeleted: 0, seconds: 0)
        do {
            let remote = try await repository.loadBlobs(cache: cache)
            var walker = RemoteTreeWalker(repository: repository, remote: remote)
            let live = try await walker.reachable(from: raised.snapshots.map(\.record.root))
            report.liveBlobs = live.count
            let candidates = Set(indexes.compactMap { ObjectName.packID(of: $0.key[...], prefix: ObjectName.indexPrefix) })
            let sizes = Dictionary(data.compactMap { object in
                ObjectName.packID(of: object.key[...], prefix: ObjectName.dataPrefix).map { ($0, object.size) }
            }, uniquingKeysWith: { first, _ in first })
            // Chunks and trees stay in separate packs, as the uploader writes them.
            var repacked = [PackBuilder(), PackBuilder()]
            var emptied: [String] = []
            var copied: Set<BlobID> = []
            for id in candidates.sorted() {
                guard let index = remote.packs[id] else { continue }
                let liveHere = index.entries.filter { live.contains($0.id) }
                let deadBytes = index.entries.filter { !live.contains($0.id) }.reduce(0) { $0 + PackFormat.headerLength + $1.storedLength }
                if liveHere.isEmpty {
                    emptied.append(id)
                } else if Double(deadBytes) > Self.repackThreshold * Double(index.sealedLength) {
                    // Live records move to a new pack; the old one goes once the new one and its index are stored.
                    let plain = try await repository.fetchPack(id, index)
                    let moving = liveHere.filter { copied.insert($0.id).inserted }
                    try Self.copy(moving.filter { $0.kind == .chunk }, of: plain, pack: id, into: &repacked[0])
                    try Self.copy(moving.filter { $0.kind == .tree }, of: plain, pack: id, into: &repacked[1])
                    emptied.append(id)
                    report.packsRepacked += 1
                    report.bytesRepacked += liveHere.reduce(0) { $0 + PackFormat.headerLength + $1.storedLength }
                    if repacked.contains(where: { $0.size >= repository.target.packSize }) {
                        for builder in repacked where builder.count > 0 { _ = try await repository.store(PackBox(builder)) }
                        repacked = [PackBuilder(), PackBuilder()]
                        try await deletePacks(&emptied, sizes: sizes, into: &report)
                    }
                } else if deadBytes > 0 {
                    report.packsPartlyDead += 1
                    report.deadBytesKept += deadBytes
                }
            }
            for builder in repacked where builder.count > 0 { _ = try await repository.store(PackBox(builder)) }
            try await deletePacks(&emptied, sizes: sizes, into: &report)
            report.packsDeleted -= report.packsRepacked
            // Packs without an index, seen so by the previous run too: an upload died between the two puts.
            let orphans = Set(sizes.keys).subtracting(candidates)
            let earlier = loadOrphans()
            for id in orphans.intersection(earlier).sorted() {
                try await repository.delete(ObjectName.pack(id))
                report.orphansDeleted += 1
                report.bytesDeleted += sizes[id] ?? 0
            }
            saveOrphans(orphans.subtracting(earlier))
            // Old catalog generations: the newest few stay (a reader may be opening one).
            let generations = try await repository.catalogGenerations()
            for generation in generations.dropLast(Self.catalogsKept) {
                try await repository.delete(ObjectName.catalog(generation))
                report.catalogsDeleted += 1
            }
        } catch {
            _ = try? await setFlag(raising: false)
            throw error
        }
        _ = try await setFlag(raising: false)
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    static let catalogsKept = 8

    /// A pack with more dead bytes than this share of its size is rewritten.
    static let repackThreshold = 0.2

    /// Index first, then pack: an index that exists always names a stored pack.
    private func deletePacks(_ ids: inout [String], sizes: [String: Int], into report: inout OffsiteGCReport) async throws(OffsiteError) {
        for id in ids {
            try await repository.delete(ObjectName.index(id))
            try await repository.delete(ObjectName.pack(id))
            report.packsDeleted += 1
            report.bytesDeleted += sizes[id] ?? 0
        }
        ids.removeAll()
    }

    /// Checks each live record against its id and appends it, as stored, to the new pack.
    private static func copy(_ entries: [PackIndex.Entry], of plain: [UInt8], pack: String, into builder: inout PackBuilder) throws(OffsiteError) {
        let decompressor = Decompressor()
        do {
            try plain.withUnsafeBytes { bytes in
                for entry in entries {
                    builder.append(entry.location, record: try entry.checkedRecord(in: bytes, pack: pack, decompressor: decompressor).record)
                }
            }
        } catch let error as OffsiteError {
            throw error
        } catch {
            throw OffsiteError(.local, "copying records of \(ObjectName.pack(pack)) failed: \(error)", underlying: error)
        }
    }

    /// Writes a catalog generation with the gc flag raised (and the run counted) or lowered.
    private func setFlag(raising: Bool) async throws(OffsiteError) -> Catalog {
        for _ in 0..<50 {
            var next = try await repository.latestCatalog()
            next.generation += 1
            if raising {
                next.collections += 1
                next.collectingSince = Clock.wallNanoseconds()
            } else {
                next.collectingSince = 0
            }
            if try await repository.commit(next) { return next }
        }
        throw OffsiteError(.contention, "the catalog of \(repository.target.describe) kept changing; gc did not run",
                           hint: "run the command again")
    }

    private var orphansPath: String? { cache.map { $0 + "/orphans" } }

    private func loadOrphans() -> Set<String> {
        guard let path = orphansPath, let data = FileManager.default.contents(atPath: path) else { return [] }
        return Set(String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init))
    }

    private func saveOrphans(_ ids: Set<String>) {
        guard let path = orphansPath, let cache else { return }
        try? FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(ids.sorted().joined(separator: "\n").utf8))
    }
}
