import Foundation
import GRDB

/// Where a blob lives.
public struct BlobLocation: Sendable, Equatable {
    public let id: BlobID
    public let kind: BlobKind
    public let pack: Int64
    public let offset: Int
    public let storedLength: Int
    public let rawLength: Int
    public let compression: Compression

    public init(id: BlobID, kind: BlobKind, pack: Int64, offset: Int, storedLength: Int, rawLength: Int, compression: Compression) {
        self.id = id
        self.kind = kind
        self.pack = pack
        self.offset = offset
        self.storedLength = storedLength
        self.rawLength = rawLength
        self.compression = compression
    }
}

/// A configured volume.
public struct VolumeRecord: Sendable, Equatable {
    public let name: String
    public let path: String
    public let chunkAverage: Int
    public let crossMounts: Bool

    public init(name: String, path: String, chunkAverage: Int, crossMounts: Bool = false) {
        self.name = name
        self.path = path
        self.chunkAverage = chunkAverage
        self.crossMounts = crossMounts
    }
}

/// The SQLite index (WAL, synchronous=FULL). It only ever points at pack bytes
/// that were fsynced before the transaction that names them committed
/// (a scratch store's index syncs nothing: `Store.Durability`).
public final class Index: Sendable {
    let pool: DatabasePool
    public let path: String

    public init(path: String, durability: Store.Durability = .durable) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            // FULL: a committed snapshot survives power loss, not only a crash.
            try db.execute(sql: durability == .durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // Only migrate (a write transaction and an fsync) when something is missing.
            let migrator = IndexSchema.migrator
            if try !pool.read({ try migrator.hasCompletedMigrations($0) }) { try migrator.migrate(pool) }
        } catch {
            throw RepositoryError(.index, "cannot open the index \(path)", hint: Self.repairHint, underlying: error)
        }
    }

    static let repairHint = "if the file is damaged, run `barge repair-index` to rebuild it from the packs"

    func run<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as RepositoryError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw RepositoryError(.io, "index: \(what) failed: no space left on the disk holding \(path)",
                                  hint: "free space and retry; nothing was committed", underlying: error, errorNumber: ENOSPC)
        } catch {
            throw RepositoryError(.index, "index: \(what) failed", hint: Self.repairHint, underlying: error)
        }
    }

    // MARK: volumes

    public func addVolume(_ volume: VolumeRecord) throws {
        try run("adding volume \(volume.name)") {
            try pool.write { db in
                if try Row.fetchOne(db, sql: "SELECT 1 FROM volume WHERE name = ?", arguments: [volume.name]) != nil {
                    throw RepositoryError(.invalidArgument, "volume \(volume.name) already exists",
                                          hint: "pick another name, or `barge volume remove \(volume.name)` first")
                }
                try db.execute(sql: "INSERT INTO volume (name, path, chunk_average, cross_mounts, created_ns) VALUES (?, ?, ?, ?, ?)",
                               arguments: [volume.name, volume.path, volume.chunkAverage, volume.crossMounts, Clock.nowNanoseconds()])
            }
        }
    }

    public func volumes() throws -> [VolumeRecord] {
        try run("listing volumes") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT name, path, chunk_average, cross_mounts FROM volume ORDER BY name").map(Self.volume)
            }
        }
    }

    public func volume(named name: String) throws -> VolumeRecord? {
        try run("reading volume \(name)") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT name, path, chunk_average, cross_mounts FROM volume WHERE name = ?",
                                 arguments: [name]).map(Self.volume)
            }
        }
    }

    /// Forgets the volume's configuration; its snapshots stay restorable.
    public func removeVolume(named name: String) throws -> Bool {
        try run("removing volume \(name)") {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM volume WHERE name = ?", arguments: [name])
                return db.changesCount > 0
            }
        }
    }

    private static func volume(_ row: Row) -> VolumeRecord {
        VolumeRecord(name: row[0], path: row[1], chunkAverage: row[2], crossMounts: row[3])
    }

    // MARK: packs

    /// Committed pack sizes: bytes past these in a pack file were never committed.
    public func packSizes() throws -> [Int64: Int] {
        try run("listing packs") {
            try pool.read { db in
                var sizes: [Int64: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT id, size FROM pack") { sizes[row[0]] = row[1] }
                return sizes
            }
        }
    }

    /// Reserves a pack number before its file exists, so every pack file on disk has a row.
    /// The number is above every row and above `minimum`, the highest pack
    /// file on disk: a new pack never lands on a file this index does not know.
    public func allocatePack(headerLength: Int, above minimum: Int64) throws -> Int64 {
        try run("allocating a pack") {
            try pool.write { db in
                // Doomed numbers too: a file gc has yet to unlink must not be reused.
                let highest = try Int64.fetchOne(db, sql: """
                    SELECT max(coalesce((SELECT max(id) FROM pack), 0), coalesce((SELECT max(id) FROM doomed_pack), 0))
                    """) ?? 0
                let number = max(highest, minimum) + 1
                try db.execute(sql: "INSERT INTO pack (id, size) VALUES (?, ?)", arguments: [number, headerLength])
                return number
            }
        }
    }

    /// Packs gc removed from the index but may not have unlinked yet.
    public func doomedPacks() throws -> [Int64] {
        try run("listing removed packs") { try pool.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM doomed_pack") } }
    }

    public func forgetDoomedPack(_ pack: Int64) throws {
        try run("forgetting removed pack \(pack)") {
            try pool.write { db in try db.execute(sql: "DELETE FROM doomed_pack WHERE id = ?", arguments: [pack]) }
        }
    }

    /// Records a pack with a known number (used when rebuilding the index).
    public func insertPack(_ number: Int64, size: Int) throws {
        try run("recording pack \(number)") {
            try pool.write { db in try db.execute(sql: "INSERT OR REPLACE INTO pack (id, size) VALUES (?, ?)", arguments: [number, size]) }
        }
    }

    // MARK: blobs

    public func location(of id: BlobID) throws -> BlobLocation? {
        try run("looking up blob \(id.short)") {
            try pool.read { db in
                // Cached: compiling the statement cost more than the lookup (GRDB's authorizer runs on every prepare).
                let select = try db.cachedStatement(sql: "SELECT \(Self.blobColumns) FROM blob WHERE id = ?")
                return try Row.fetchOne(select, arguments: [id.data]).flatMap(Self.location)
            }
        }
    }

    /// Which of `ids` the index knows, in one query per 512 ids.
    public func locations(of ids: [BlobID]) throws -> [BlobID: BlobLocation] {
        try run("looking up \(ids.count) blobs") {
            try pool.read { db in
                var found: [BlobID: BlobLocation] = [:]
                var start = 0
                while start < ids.count {
                    let batch = ids[start..<min(ids.count, start + 512)]
                    // Padded to a power of two (repeating the last id), so at most ten statements are cached.
                    let width = 1 << (Int.bitWidth - (batch.count - 1).leadingZeroBitCount)
                    let marks = Array(repeating: "?", count: width).joined(separator: ",")
                    let select = try db.cachedStatement(sql: "SELECT \(Self.blobColumns) FROM blob WHERE id IN (\(marks))")
                    let padded = batch.map(\.data) + Array(repeating: batch.last!.data, count: width - batch.count)
                    let rows = try Row.fetchAll(select, arguments: StatementArguments(padded))
                    for row in rows { if let location = Self.location(row) { found[location.id] = location } }
                    start += batch.count
                }
                return found
            }
        }
    }

    public func allBlobs(_ body: (BlobLocation) throws -> Void) throws {
        try run("listing blobs") {
            try pool.read { db in
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(Self.blobColumns) FROM blob ORDER BY pack, offset")
                while let row = try cursor.next() {
                    guard let location = Self.location(row) else {
                        throw RepositoryError(.corrupt, "index: a blob row has an invalid id, kind or compression", hint: Self.repairHint)
                    }
                    try body(location)
                }
            }
        }
    }

    public func blobCount() throws -> Int {
        try run("counting blobs") { try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blob") ?? 0 } }
    }

    static let blobColumns = "id, kind, pack, offset, stored_length, raw_length, compression"

    static func location(_ row: Row) -> BlobLocation? {
        guard let idData = row[0] as Data?, let id = BlobID(bytes: idData),
              let kind = BlobKind(rawValue: UInt8(clamping: row[1] as Int)),
              let compression = Compression(rawValue: UInt8(clamping: row[6] as Int)) else { return nil }
        return BlobLocation(id: id, kind: kind, pack: row[2], offset: row[3], storedLength: row[4],
                            rawLength: row[5], compression: compression)
    }

    /// One transaction: blob rows, the packs' new committed sizes and, last, the
    /// snapshot row that makes them reachable.
    public func commit(blobs: [BlobLocation], packSizes: [Int64: Int], snapshot: StoredSnapshot?) throws {
        try run("committing \(blobs.count) blobs") {
            try pool.write { db in
                let insert = try db.cachedStatement(sql: """
                    INSERT OR IGNORE INTO blob (id, kind, pack, offset, stored_length, raw_length, compression)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                for blob in blobs.sorted(by: { $0.id < $1.id }) {
                    try insert.execute(arguments: [blob.id.data, Int(blob.kind.rawValue), blob.pack, blob.offset,
                                                   blob.storedLength, blob.rawLength, Int(blob.compression.rawValue)])
                }
                for (pack, size) in packSizes {
                    try db.execute(sql: "UPDATE pack SET size = max(size, ?) WHERE id = ?", arguments: [size, pack])
                }
                if let snapshot { try Self.insert(snapshot, into: db) }
            }
        }
    }

    /// One transaction for gc: moved blobs point at their new packs, dead blob
    /// rows and emptied packs go. The caller deletes pack files only afterwards.
    public func relocate(moved: [BlobLocation], deleted: [BlobID], removedPacks: [Int64], packSizes: [Int64: Int]) throws {
        try run("relocating \(moved.count) blobs") {
            try pool.write { db in
                let replace = try db.cachedStatement(sql: """
                    INSERT OR REPLACE INTO blob (id, kind, pack, offset, stored_length, raw_length, compression)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                for blob in moved {
                    try replace.execute(arguments: [blob.id.data, Int(blob.kind.rawValue), blob.pack, blob.offset,
                                                    blob.storedLength, blob.rawLength, Int(blob.compression.rawValue)])
                }
                // gc names the pack it empties: only that pack's rows go, never a
                // row a writer has since added for the same id elsewhere.
                if removedPacks.isEmpty {
                    let delete = try db.cachedStatement(sql: "DELETE FROM blob WHERE id = ?")
                    for id in deleted { try delete.execute(arguments: [id.data]) }
                } else {
                    let delete = try db.cachedStatement(sql: "DELETE FROM blob WHERE id = ? AND pack = ?")
                    for id in deleted { for pack in removedPacks { try delete.execute(arguments: [id.data, pack]) } }
                }
                for (pack, size) in packSizes {
                    try db.execute(sql: "UPDATE pack SET size = max(size, ?) WHERE id = ?", arguments: [size, pack])
                }
                for pack in removedPacks {
                    guard try Int.fetchOne(db, sql: "SELECT count(*) FROM blob WHERE pack = ?", arguments: [pack]) == 0 else {
                        throw RepositoryError(.corrupt, "gc: pack \(PackFormat.fileName(pack: pack)) still holds blobs; nothing was changed")
                    }
                    try db.execute(sql: "DELETE FROM pack WHERE id = ?", arguments: [pack])
                    try db.execute(sql: "DELETE FROM dirty_pack WHERE id = ?", arguments: [pack])
                    try db.execute(sql: "INSERT OR IGNORE INTO doomed_pack (id) VALUES (?)", arguments: [pack])
                }
            }
        }
    }

    /// For gc: deletes the rows of unreferenced trees (each in the pack gc saw
    /// it in) in one transaction, and notes their packs as dirty: records
    /// without rows, rewritten by the next gc if this one is killed.
    public func forgetDeadTrees(_ trees: [BlobLocation]) throws {
        try run("forgetting \(trees.count) unreferenced trees") {
            try pool.write { db in
                let delete = try db.cachedStatement(sql: "DELETE FROM blob WHERE id = ? AND kind = 2 AND pack = ?")
                for tree in trees { try delete.execute(arguments: [tree.id.data, tree.pack]) }
                for pack in Set(trees.map(\.pack)) {
                    try db.execute(sql: "INSERT OR IGNORE INTO dirty_pack (id) VALUES (?)", arguments: [pack])
                }
            }
        }
    }

    /// Packs an earlier gc left holding records without rows.
    public func dirtyPacks() throws -> Set<Int64> {
        try run("listing dirty packs") { try pool.read { db in Set(try Int64.fetchAll(db, sql: "SELECT id FROM dirty_pack")) } }
    }

    /// Removes snapshot rows (their blobs stay until gc).
    public func deleteSnapshots(_ ids: [BlobID]) throws {
        try run("forgetting \(ids.count) snapshots") {
            try pool.write { db in
                for id in ids { try db.execute(sql: "DELETE FROM snapshot WHERE id = ?", arguments: [id.data]) }
            }
        }
    }

    static func insert(_ snapshot: StoredSnapshot, into db: Database) throws {
        let r = snapshot.record
        try db.execute(sql: """
            INSERT OR IGNORE INTO snapshot (id, volume, parent, root, time_ns, epoch, origin, state,
                files, directories, bytes_total, bytes_added, skipped, record)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [snapshot.id.data, r.volume, r.parent?.data, r.root.data, r.timeNanoseconds, Int64(bitPattern: r.epoch),
                             r.origin, r.state, Int64(r.files), Int64(r.directories), Int64(r.bytesTotal),
                             Int64(r.bytesAdded), Int64(r.skipped), Data(r.encoded())])
    }

    // MARK: snapshots

    /// Snapshots, oldest first; all volumes when `volume` is nil.
    public func snapshots(volume: String?) throws -> [StoredSnapshot] {
        try run("listing snapshots") {
            try pool.read { db in
                let rows = volume == nil
                    ? try Row.fetchAll(db, sql: "SELECT id, record FROM snapshot ORDER BY time_ns, id")
                    : try Row.fetchAll(db, sql: "SELECT id, record FROM snapshot WHERE volume = ? ORDER BY time_ns, id",
                                       arguments: [volume])
                return try rows.map { row in
                    let record = try SnapshotRecord.decode([UInt8](row[1] as Data))
                    guard let id = BlobID(bytes: row[0] as Data), id == record.id else {
                        throw RepositoryError(.corrupt, "index: a snapshot row does not match its record", hint: Self.repairHint)
                    }
                    return StoredSnapshot(id: id, record: record)
                }
            }
        }
    }
}

/// Wall-clock time in nanoseconds since 1970, as snapshots and volumes record it.
public enum Clock {
    public static func nowNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
