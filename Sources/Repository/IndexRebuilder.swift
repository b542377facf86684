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
        let lock = try FileLock(path: directory + "/write.lock", mode: .exclusive, purpose: "rebuild the index", recordsHolder: true)
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
        // The settings were in the lost index: new blobs keep the codec of the newest compressed one.
        var newestCodec: Compression?
        for (number, name) in packs {
            let scan = try scanPack(number: number, path: packsDirectory + "/" + name, decompressor: decompressor, report: &report)
            try index.insertPack(number, size: scan.end)
            try index.commit(blobs: scan.blobs, packSizes: [:], snapshot: nil)
            report.packs += 1
            report.blobs += scan.blobs.count
            snapshots += scan.snapshots
            newestCodec = scan.blobs.last(where: { $0.compression != .none })?.compression ?? newestCodec
        }
        if let newestCodec { try index.recordCompression(newestCodec) }
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
            try index.addVolume(VolumeRecord(name: name, path: record.volumePath, chunkAverage: record.chunkAverage, crossMounts: record.crossMounts))
            report.volumes += 1
        }
        return report
    }

    private struct PackScan {
        var blobs: [BlobLocation] = []
        var snapshots: [StoredSnapshot] = []
        var end = 0
    }

    /// Reads every record it can. After damage it searches forward for the next
    /// record that decodes and hashes correctly, so one bad byte costs one
    /// record, not the rest of the pack. The pack's committed size becomes its
    /// file size: nothing in it is ever truncated because of a repair.
    private func scanPack(number: Int64, path: String, decompressor: Decompressor, report: inout Report) throws -> PackScan {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RepositoryError.system("open", path: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw RepositoryError.system("fstat", path: path) }
        let size = Int(info.st_size)
        let name = PackFormat.fileName(pack: number)
        var scan = PackScan()
        scan.end = size
        guard readAt(fd, 0, PackFormat.fileMagic.count) == PackFormat.fileMagic else {
            report.notes.append("\(name): not a barge pack (bad file magic); kept, nothing read from it")
            return scan
        }
        var offset = PackFormat.fileMagic.count
        var damagedFrom: Int?
        while offset + PackFormat.headerLength <= size {
            if let (location, raw) = record(at: offset, in: fd, pack: number, size: size, decompressor: decompressor) {
                if let start = damagedFrom {
                    report.notes.append("\(name): bytes \(start)..<\(offset) are damaged or not a record; skipped")
                    report.skippedRecords += 1
                    damagedFrom = nil
                }
                scan.blobs.append(location)
                if location.kind == .snapshot, let record = try? SnapshotRecord.decode(raw) {
                    scan.snapshots.append(StoredSnapshot(id: location.id, record: record))
                }
                offset += PackFormat.headerLength + location.storedLength
            } else {
                if damagedFrom == nil { damagedFrom = offset }
                offset = nextCandidate(after: offset, in: fd, size: size)
            }
        }
        if let start = damagedFrom ?? (offset < size ? offset : nil) {
            report.notes.append("\(name): bytes \(start)..<\(size) hold no complete record (an interrupted write or damage); skipped")
        }
        return scan
    }

    /// The record at `offset` if its header decodes, its payload fits and its hash matches.
    private func record(at offset: Int, in fd: Int32, pack: Int64, size: Int, decompressor: Decompressor) -> (BlobLocation, [UInt8])? {
        guard let headerBytes = readAt(fd, offset, PackFormat.headerLength),
              let header = try? PackFormat.RecordHeader.decode(headerBytes, what: "repair"),
              offset + PackFormat.headerLength + header.storedLength <= size,
              let payload = readAt(fd, offset + PackFormat.headerLength, header.storedLength) else { return nil }
        guard let raw = try? payload.withUnsafeBytes({
            try decompressor.decompress($0, compression: header.compression, rawLength: header.rawLength)
        }), BlobID.of(header.kind, raw) == header.id else { return nil }
        return (BlobLocation(id: header.id, kind: header.kind, pack: pack, offset: offset, storedLength: header.storedLength,
                             rawLength: header.rawLength, compression: header.compression), raw)
    }

    /// The next offset after `offset` where the record magic appears (or the end).
    private func nextCandidate(after offset: Int, in fd: Int32, size: Int) -> Int {
        var magic = [UInt8]()
        withUnsafeBytes(of: PackFormat.recordMagic.littleEndian) { magic.append(contentsOf: $0) }
        var position = offset + 1
        while position + magic.count <= size {
            let window = min(1 << 20, size - position)
            guard let bytes = readAt(fd, position, window) else { return size }
            var index = 0
            while index + magic.count <= bytes.count {
                if bytes[index] == magic[0] && Array(bytes[index..<index + magic.count]) == magic { return position + index }
                index += 1
            }
            position += max(1, window - magic.count + 1)
        }
        return size
    }

    private func readAt(_ fd: Int32, _ offset: Int, _ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { return nil }
            done += got
        }
        return buffer
    }
}
