import Foundation

/// Rebuilds `index.sqlite` from the packs alone: every record is re-read,
/// decompressed and re-hashed; snapshots come back from their snapshot records,
/// volumes from their newest snapshot. The old index is renamed, never deleted.
public struct IndexRebuilder {
    public struct Report: Sendable {
        public var packs = 0
        public var blobs = 0
        public var snapshots = 0
        public var volumes = 0
        public var skippedRecords = 0
        public var oldIndex: String?
        public var notes: [String] = []
    }

    public let directory: String
    public init(directory: String) { self.directory = directory }

    public func run() throws -> Report {
        let packsDirectory = directory + "/packs"
        guard FileManager.default.fileExists(atPath: packsDirectory) else {
            throw RepositoryError(.notInitialized, "no packs at \(packsDirectory)", hint: "check --state-dir")
        }
        let lock = try FileLock(path: directory + "/write.lock", mode: .exclusive, purpose: "rebuild the index")
        defer { withExtendedLifetime(lock) {} }
        var report = Report()
        let indexPath = Store.indexPath(in: directory)
        if FileManager.default.fileExists(atPath: indexPath) {
            let stamp = Int(Date().timeIntervalSince1970)
            let old = "\(indexPath).replaced-\(stamp)"
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: indexPath + suffix) {
                guard rename(indexPath + suffix, old + suffix) == 0 else { throw RepositoryError.system("rename", path: indexPath + suffix) }
            }
            report.oldIndex = old
        }
        let index = try Index(path: indexPath)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: packsDirectory)) ?? []
        let packs = names.compactMap { name in PackFormat.packNumber(fileName: name).map { ($0, name) } }.sorted { $0.0 < $1.0 }
        var snapshots: [StoredSnapshot] = []
        let decompressor = Decompressor()
        for (number, name) in packs {
            let scan = try scanPack(number: number, path: packsDirectory + "/" + name, decompressor: decompressor, report: &report)
            try index.insertPack(number, size: scan.end)
            try index.commit(blobs: scan.blobs, packSizes: [:], snapshot: nil)
            report.packs += 1
            report.blobs += scan.blobs.count
            snapshots += scan.snapshots
        }
        let trees = Set(try index.locations(of: snapshots.map(\.record.root)).keys)
        var newest: [String: SnapshotRecord] = [:]
        for snapshot in snapshots {
            guard trees.contains(snapshot.record.root) else {
                report.notes.append("snapshot \(snapshot.id.short) of \(snapshot.record.volume) skipped: its root tree is missing")
                continue
            }
            try index.commit(blobs: [], packSizes: [:], snapshot: snapshot)
            report.snapshots += 1
            if (newest[snapshot.record.volume]?.timeNanoseconds ?? .min) < snapshot.record.timeNanoseconds {
                newest[snapshot.record.volume] = snapshot.record
            }
        }
        for (name, record) in newest.sorted(by: { $0.key < $1.key }) {
            try index.addVolume(VolumeRecord(name: name, path: record.volumePath, chunkAverage: record.chunkAverage))
            report.volumes += 1
        }
        return report
    }

    private struct PackScan {
        var blobs: [BlobLocation] = []
        var snapshots: [StoredSnapshot] = []
        var end = 0
    }

    /// Reads records until the end or the first unreadable header (a torn tail).
    private func scanPack(number: Int64, path: String, decompressor: Decompressor, report: inout Report) throws -> PackScan {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RepositoryError.system("open", path: path) }
        defer { try? handle.close() }
        let name = PackFormat.fileName(pack: number)
        var scan = PackScan()
        let magic = (try handle.read(upToCount: PackFormat.fileMagic.count)).map { [UInt8]($0) } ?? []
        guard magic == PackFormat.fileMagic else {
            report.notes.append("\(name): not a barge pack (bad file magic), skipped")
            return scan
        }
        var offset = magic.count
        scan.end = offset
        while true {
            guard let headerData = try handle.read(upToCount: PackFormat.headerLength), headerData.count == PackFormat.headerLength else { break }
            let header: PackFormat.RecordHeader
            do { header = try PackFormat.RecordHeader.decode([UInt8](headerData), what: "\(name) offset \(offset)") } catch {
                report.notes.append("\(name): stopped at offset \(offset): \(error)")
                break
            }
            guard let payload = try handle.read(upToCount: header.storedLength), payload.count == header.storedLength else {
                report.notes.append("\(name): the record at offset \(offset) is cut short (an interrupted write)")
                break
            }
            let location = BlobLocation(id: header.id, kind: header.kind, pack: number, offset: offset,
                                        storedLength: header.storedLength, rawLength: header.rawLength, compression: header.compression)
            offset += PackFormat.headerLength + header.storedLength
            scan.end = offset
            let raw: [UInt8]
            do {
                raw = try [UInt8](payload).withUnsafeBytes { bytes in
                    header.compression == .zstd ? try decompressor.decompress(bytes, rawLength: header.rawLength) : Array(bytes)
                }
            } catch {
                report.skippedRecords += 1
                report.notes.append("\(name): \(header.kind.name) \(header.id.short) does not decompress; skipped")
                continue
            }
            guard BlobID.hash(raw) == header.id else {
                report.skippedRecords += 1
                report.notes.append("\(name): \(header.kind.name) \(header.id.short) fails its hash; skipped")
                continue
            }
            scan.blobs.append(location)
            if header.kind == .snapshot, let record = try? SnapshotRecord.decode(raw) {
                scan.snapshots.append(StoredSnapshot(id: header.id, record: record))
            }
        }
        return scan
    }
}
