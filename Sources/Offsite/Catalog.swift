import Repository

/// Generation N of the list of snapshots a copy holds. A new generation is written under a
/// new name with a conditional put, so two writers never both succeed: the catalog is a
/// compare-and-swap register on top of write-once objects. The generation inside must equal
/// the one in the name (the name is also bound by the envelope), so an old catalog cannot be
/// passed off as a newer one.
///
///     catalog = "BRGC" | version u8 | generation u64 | collections u64 | collecting since i64
///             | count u32 | (length u32 | snapshot record)*
///
/// `collections` counts gc runs; `collectingSince` (wall-clock ns, 0 when none) is set while
/// one deletes. A writer waits while it is set and, if `collections` changed since it began,
/// checks again that everything it reuses is still there before it lists its snapshot.
struct Catalog: Sendable, Equatable {
    static let magic: [UInt8] = Array("BRGC".utf8)
    static let maximumSnapshots = 1_000_000

    var generation: UInt64
    var collections: UInt64
    var collectingSince: Int64
    var snapshots: [StoredSnapshot]

    var collecting: Bool { collectingSince != 0 }
    /// A gc that set the flag this long ago died: writers stop waiting for it.
    static let staleCollection: Int64 = 6 * 3600 * 1_000_000_000

    static let empty = Catalog(generation: 0, collections: 0, collectingSince: 0, snapshots: [])

    func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + snapshots.count * 256)
        writer.raw(Self.magic)
        writer.u8(1)
        writer.u64(generation)
        writer.u64(collections)
        writer.i64(collectingSince)
        writer.u32(UInt32(snapshots.count))
        for snapshot in snapshots { writer.data(snapshot.record.encoded()) }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], generation expected: UInt64) throws(OffsiteError) -> Catalog {
        let what = "catalog generation \(expected)"
        do {
            var reader = BinaryReader(bytes, what: what)
            for byte in magic where try reader.u8() != byte {
                throw OffsiteError(.malformed, "\(what) is not a catalog")
            }
            guard try reader.u8() == 1 else { throw OffsiteError(.malformed, "\(what) has an unknown version") }
            let generation = try reader.u64()
            guard generation == expected else {
                throw OffsiteError(.tampered, "\(what) says it is generation \(generation): an old catalog was put in its place")
            }
            let collections = try reader.u64()
            let since = try reader.i64()
            guard since >= 0 else { throw OffsiteError(.malformed, "\(what): a negative gc start time") }
            let count = try reader.count(limit: maximumSnapshots, minimumElementSize: 4)
            var snapshots: [StoredSnapshot] = []
            snapshots.reserveCapacity(count)
            var seen: Set<BlobID> = []
            for _ in 0..<count {
                let record = try SnapshotRecord.decode(try reader.data(limit: PackFormat.maxSnapshotLength))
                let snapshot = StoredSnapshot(id: record.id, record: record)
                guard seen.insert(snapshot.id).inserted else { throw OffsiteError(.malformed, "\(what) lists snapshot \(snapshot.id.short) twice") }
                snapshots.append(snapshot)
            }
            try reader.expectEnd()
            return Catalog(generation: generation, collections: collections, collectingSince: since, snapshots: snapshots)
        } catch let error as OffsiteError {
            throw error
        } catch {
            throw OffsiteError(.malformed, "\(what) is cut short or malformed", underlying: error)
        }
    }
}
