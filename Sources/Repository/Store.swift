import Foundation

/// A node's store: `index.sqlite` plus `packs/`. Readers share it freely; one
/// writer at a time holds `write.lock`.
public final class Store: Sendable {
    /// read: any number at once. write: one at a time (snapshots, repairs).
    /// exclusive: a writer that also keeps readers out, because it deletes packs (gc).
    public enum Access: Sendable { case read, write, exclusive }

    /// durable: every commit is on disk before it returns (fsync, SQLite synchronous=FULL).
    /// scratch: nothing is ever synced; only for a store thrown away after use (`ScratchStore`),
    /// whose pages are then dropped instead of written.
    public enum Durability: Sendable { case durable, scratch }

    public let directory: String
    public let index: Index
    /// The codec this store writes new blobs with (it reads every codec).
    public let compression: Compression
    public let durability: Durability
    let packs: PackFiles
    /// Coordinates gc with the writers of this process (see `CollectionGate`).
    public let gate = CollectionGate()
    private let writeLock: FileLock?
    private let readersLock: FileLock

    public var packsDirectory: String { packs.directory }
    public static func indexPath(in directory: String) -> String { directory + "/index.sqlite" }

    /// The codec a new store writes with. zstd: lz4 compresses the real-files tree 1.8 times as
    /// fast for 22% more bytes, but the generated text tree 1.4 times slower for 38% more (design.md).
    public static let defaultCompression = Compression.zstd

    /// Creates the state directory (mode 0700) and an empty store; harmless when one exists.
    /// `compression`: the codec of new blobs. A new store records it (default zstd); an existing
    /// one changes to it when given, else keeps its own (zstd if it predates the setting).
    /// `access`: how the returned store is opened (`barge init` only reads: it must not need
    /// the lock a running agent holds, unless it changes the codec).
    @discardableResult
    public static func initialize(at directory: String, compression: Compression? = nil,
                                  durability: Durability = .durable, access: Access = .write) throws -> Store {
        for path in [directory, directory + "/packs"] {
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw RepositoryError.system("mkdir", path: path, hint: "check that the parent exists and is writable")
            }
        }
        let isNew = !FileManager.default.fileExists(atPath: indexPath(in: directory))
        let index = try Index(path: indexPath(in: directory), durability: durability)
        if let codec = compression ?? (isNew ? defaultCompression : nil) {
            guard codec != .none else {
                throw RepositoryError(.invalidArgument, "a store must compress: choose lz4 or zstd")
            }
            if try index.recordedCompression() != codec {
                // Under the writers' lock: an agent writing this store keeps its codec until it restarts.
                let lock = try FileLock(path: directory + "/write.lock", mode: .exclusive, purpose: "set the store's compression",
                                        recordsHolder: true)
                try withExtendedLifetime(lock) { try index.recordCompression(codec) }
            }
        }
        return try Store(at: directory, access: access, durability: durability)
    }

    public init(at directory: String, access: Access, durability: Durability = .durable) throws {
        self.directory = directory
        self.durability = durability
        let indexPath = Self.indexPath(in: directory)
        guard FileManager.default.fileExists(atPath: indexPath) else {
            if FileManager.default.fileExists(atPath: directory + "/packs") {
                throw RepositoryError(.notInitialized, "the store at \(directory) has packs but no index",
                                      hint: "run `barge --state-dir \(directory) repair-index` to rebuild it")
            }
            throw RepositoryError(.notInitialized, "no barge store at \(directory)",
                                  hint: "run `barge --state-dir \(directory) init`, or pass the right --state-dir")
        }
        readersLock = try FileLock(path: directory + "/gc.lock", mode: access == .exclusive ? .exclusive : .shared,
                                   purpose: access == .exclusive ? "collect garbage while others read the store" : "read the store during gc")
        writeLock = access == .read
            ? nil
            : try FileLock(path: directory + "/write.lock", mode: .exclusive, purpose: "write to the store", recordsHolder: true)
        index = try Index(path: indexPath, durability: durability)
        compression = try index.recordedCompression() ?? .zstd
        packs = PackFiles(directory: directory + "/packs")
        // Bytes past a pack's committed size (a writer died before its
        // transaction) are never truncated here: no row points at them, no
        // writer appends after them, and gc (which holds the pack's claim) cuts them off.
    }

    // MARK: reading

    /// Reads a blob and checks it against its id: wrong bytes never leave here.
    public func read(_ location: BlobLocation, using decompressor: Decompressor) throws -> [UInt8] {
        try following(location) { location in
            let bytes = try packs.read(pack: location.pack, offset: location.offset,
                                       count: PackFormat.headerLength + location.storedLength)
            return try bytes.withUnsafeBytes { try decode(location, from: $0, using: decompressor) }
        }
    }

    /// Reads the bytes of consecutive records at once: `locations` must be in
    /// one pack, sorted by offset and adjacent. Decode each with `decode`.
    /// When gc moved them meanwhile, the records are read where they are now
    /// and returned in the same layout (gc copies records unchanged).
    public func readRun(_ locations: ArraySlice<BlobLocation>) throws -> [UInt8] {
        guard let first = locations.first, let last = locations.last else { return [] }
        let end = last.offset + PackFormat.headerLength + last.storedLength
        do {
            return try packs.read(pack: first.pack, offset: first.offset, count: end - first.offset)
        } catch let error as RepositoryError where Self.mayBeMoved(error) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(end - first.offset)
            for location in locations {
                guard let moved = try relocation(of: location) else { throw error }
                bytes += try packs.read(pack: moved.pack, offset: moved.offset, count: PackFormat.headerLength + moved.storedLength)
            }
            return bytes
        }
    }

    /// Runs `body` on `location`, and again where the index says the blob is
    /// now if that fails: gc may have moved it (and removed the old pack)
    /// since the caller looked it up. Every attempt is checked in full.
    private func following<T>(_ location: BlobLocation, _ body: (BlobLocation) throws -> T) throws -> T {
        var current = location
        for _ in 0..<3 {
            do { return try body(current) } catch let error as RepositoryError where Self.mayBeMoved(error) {
                guard let moved = try relocation(of: current) else { throw error }
                current = moved
            }
        }
        return try body(current)
    }

    private static func mayBeMoved(_ error: RepositoryError) -> Bool { error.code == .missing || error.code == .corrupt }

    /// Where the blob is now, if the index has it somewhere else with the same record.
    private func relocation(of location: BlobLocation) throws -> BlobLocation? {
        guard let now = try index.location(of: location.id), now.pack != location.pack || now.offset != location.offset,
              now.storedLength == location.storedLength, now.kind == location.kind else { return nil }
        return now
    }

    /// Checks the record in `bytes` (header and payload, as stored) against
    /// `location` and its id; returns the raw bytes. Wrong bytes never leave here.
    public func decode(_ location: BlobLocation, from bytes: UnsafeRawBufferPointer, using decompressor: Decompressor) throws -> [UInt8] {
        try Self.decodeRecord(location, from: bytes, using: decompressor)
    }

    /// `decode` for records that come from elsewhere (an off-site pack): the same checks.
    public static func decodeRecord(_ location: BlobLocation, from bytes: UnsafeRawBufferPointer, using decompressor: Decompressor) throws -> [UInt8] {
        let where_ = "pack \(PackFormat.fileName(pack: location.pack)) offset \(location.offset)"
        guard bytes.count == PackFormat.headerLength + location.storedLength else {
            throw RepositoryError(.corrupt, "\(where_): record of \(bytes.count) bytes, the index says \(PackFormat.headerLength + location.storedLength)")
        }
        let header = try PackFormat.RecordHeader.decode(Array(bytes[0..<PackFormat.headerLength]), what: where_)
        guard header.id == location.id, header.kind == location.kind, header.storedLength == location.storedLength,
              header.rawLength == location.rawLength, header.compression == location.compression else {
            throw RepositoryError(.corrupt, "\(where_): the record there is not \(location.kind.name) \(location.id.short)",
                                  hint: Index.repairHint)
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[PackFormat.headerLength...])
        let raw: [UInt8]
        do { raw = try decompressor.decompress(payload, compression: location.compression, rawLength: location.rawLength) } catch {
            throw RepositoryError(.corrupt, "\(where_): \(location.kind.name) \(location.id.short) does not decompress: \(error)")
        }
        guard BlobID.of(location.kind, raw) == location.id else {
            throw RepositoryError(.corrupt, "\(where_): \(location.kind.name) \(location.id.short) fails its SHA-256 check",
                                  hint: "the pack is damaged; run `barge verify --read-data` to list what it affects")
        }
        return raw
    }

    public func read(_ id: BlobID, kind: BlobKind, using decompressor: Decompressor) throws -> [UInt8] {
        guard let location = try index.location(of: id) else {
            throw RepositoryError(.missing, "\(kind.name) \(id.short) is not in the store",
                                  hint: "run `barge verify` to see which snapshots are affected")
        }
        guard location.kind == kind else {
            throw RepositoryError(.corrupt, "blob \(id.short) is a \(location.kind.name), expected a \(kind.name)")
        }
        return try read(location, using: decompressor)
    }

    /// Reads the record header at a location without its payload.
    public func readHeader(_ location: BlobLocation) throws -> PackFormat.RecordHeader {
        try following(location) { location in
            let bytes = try packs.read(pack: location.pack, offset: location.offset, count: PackFormat.headerLength)
            return try PackFormat.RecordHeader.decode(bytes, what: "pack \(PackFormat.fileName(pack: location.pack)) offset \(location.offset)")
        }
    }

    /// Drops a pack's cached descriptor (reads in flight keep theirs): gc calls
    /// it before and after unlinking, so no read opened in between outlives the file.
    public func forgetPack(_ pack: Int64) { packs.evict(pack) }

    /// Closes every cached pack descriptor; a later read opens its pack again. A scratch
    /// store's packs must have no open descriptor when it is removed, or their pages live on.
    public func closePacks() { packs.evictAll() }

    /// Starts reading the packs around these blobs, so a batch's reads overlap the previous batch's work.
    /// `ahead` bytes past each range are asked for too: data written in order
    /// is read in order, so the next batch is most likely right behind this one.
    public func prefetch(_ locations: some Sequence<BlobLocation>, ahead: Int = 0) {
        var ranges: [Int64: (Int, Int)] = [:]
        for location in locations {
            let end = location.offset + PackFormat.headerLength + location.storedLength
            let range = ranges[location.pack] ?? (location.offset, end)
            ranges[location.pack] = (min(range.0, location.offset), max(range.1, end))
        }
        for (pack, range) in ranges { packs.prefetch(pack: pack, from: range.0, to: range.1 + ahead) }
    }

    /// Pack files on disk, by number.
    public func packFilesOnDisk() throws -> [Int64: Int] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: packs.directory) else {
            throw RepositoryError.system("opendir", path: packs.directory)
        }
        var found: [Int64: Int] = [:]
        for name in names {
            guard let number = PackFormat.packNumber(fileName: name) else { continue }
            var info = stat()
            if stat(packs.directory + "/" + name, &info) == 0 { found[number] = Int(info.st_size) }
        }
        return found
    }

    public func packPath(_ pack: Int64) -> String { packs.path(of: pack) }

    // MARK: snapshots

    public func snapshots(volume: String?) throws -> [StoredSnapshot] {
        try index.snapshots(volume: volume)
    }
}
