import Foundation
import Repository

public struct OffsiteVerifyReport: Sendable, Codable {
    public var snapshots: Int
    public var packs: Int
    public var blobsChecked: Int
    public var bytesRead: Int
    public var problems: [String]
    public var seconds: Double
    public var isClean: Bool { problems.isEmpty }
}

/// Checks the copy as a restore would meet it: the catalog and every index open with the
/// key; every indexed pack is stored at its size; every tree a listed snapshot reaches opens
/// and checks; every chunk is indexed. With `readData`, every pack is fetched and every record
/// in it checked against its id.
public final class OffsiteVerifier: Sendable {
    private let repository: OffsiteRepository
    private let cache: String?

    public init(repository: OffsiteRepository, cache: String?) {
        self.repository = repository
        self.cache = cache
    }

    public func verify(readData: Bool, progress: (@Sendable (Int, Int) -> Void)? = nil) async throws(OffsiteError) -> OffsiteVerifyReport {
        let started = Date()
        let catalog = try await repository.latestCatalog()
        let remote = try await repository.loadBlobs(cache: cache)
        var report = OffsiteVerifyReport(snapshots: catalog.snapshots.count, packs: remote.packs.count, blobsChecked: 0,
                                         bytesRead: 0, problems: [], seconds: 0)
        let stored = Dictionary(try await repository.list(ObjectName.dataPrefix).compactMap { object in
            ObjectName.packID(of: object.key[...], prefix: ObjectName.dataPrefix).map { ($0, object.size) }
        }, uniquingKeysWith: { first, _ in first })
        for (id, index) in remote.packs.sorted(by: { $0.key < $1.key }) {
            guard let size = stored[id] else {
                report.problems.append("\(ObjectName.pack(id)) is indexed but not in the bucket")
                continue
            }
            if size != index.sealedLength {
                report.problems.append("\(ObjectName.pack(id)) is \(size) bytes, its index says \(index.sealedLength)")
            }
        }
        // One walker for all snapshots: each tree pack is fetched once, however many share it.
        var walker = RemoteTreeWalker(repository: repository, remote: remote)
        for snapshot in catalog.snapshots {
            do {
                let reached = try await walker.reachable(from: [snapshot.record.root])
                for id in reached where !remote.contains(id) {
                    report.problems.append("snapshot \(snapshot.id.short) of \(snapshot.record.volume) needs chunk \(id.short), which no index lists")
                }
                report.blobsChecked += reached.count
            } catch {
                report.problems.append("snapshot \(snapshot.id.short) of \(snapshot.record.volume): \(error.message)")
            }
        }
        report.bytesRead += walker.bytesFetched
        if readData {
            let decompressor = Decompressor()
            var done = 0
            for (id, index) in remote.packs.sorted(by: { $0.key < $1.key }) where stored[id] != nil {
                done += 1
                progress?(done, remote.packs.count)
                do {
                    let plain = try await repository.fetchPack(id, index)
                    report.bytesRead += index.sealedLength
                    for entry in index.entries {
                        _ = try plain.withUnsafeBytes { bytes in
                            try entry.checkedRecord(in: bytes, pack: id, decompressor: decompressor)
                        }
                    }
                    report.blobsChecked += index.entries.count
                } catch let error as OffsiteError {
                    report.problems.append("\(ObjectName.pack(id)): \(error.message)")
                } catch {
                    report.problems.append("\(ObjectName.pack(id)): \(error)")
                }
            }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}
