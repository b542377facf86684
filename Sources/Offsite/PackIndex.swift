import Repository

/// What one pack holds: each record's id, kind and place in the pack's plaintext, the size
/// of that plaintext and the sealed size the pack object must have. Written after its pack,
/// so an index that exists names a pack that was stored completely.
///
///     index = "BRGI" | version u8 | sealed length u64 | plain length u64 | count u32 | entry*
///     entry = id [32] | kind u8 | compression u8 | offset u32 | stored u32 | raw u32
///
/// The pack object is sealed(flag u8 | body): flag 1, body is the plaintext as one zstd frame
/// (the uploader stores records raw and compresses the pack whole, which finds what repeats
/// across records); flag 0, body is the plaintext.
struct PackIndex: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var id: BlobID
        var kind: BlobKind
        var compression: Compression
        var offset: Int
        var storedLength: Int
        var rawLength: Int
    }

    static let magic: [UInt8] = Array("BRGI".utf8)
    static let entryLength = 32 + 1 + 1 + 4 + 4 + 4
    /// A pack never exceeds this; an index saying more is refused before anything is fetched.
    static let maximumPackLength = 1 << 30

    var sealedLength: Int
    var plainLength: Int
    var entries: [Entry]

    func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 17 + entries.count * Self.entryLength)
        writer.raw(Self.magic)
        writer.u8(1)
        writer.u64(UInt64(sealedLength))
        writer.u64(UInt64(plainLength))
        writer.u32(UInt32(entries.count))
        for entry in entries {
            writer.id(entry.id)
            writer.u8(entry.kind.rawValue)
            writer.u8(entry.compression.rawValue)
            writer.u32(UInt32(entry.offset))
            writer.u32(UInt32(entry.storedLength))
            writer.u32(UInt32(entry.rawLength))
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8], what: String) throws(OffsiteError) -> PackIndex {
        do {
            var reader = BinaryReader(bytes, what: what)
            guard try reader.u8() == magic[0], try reader.u8() == magic[1], try reader.u8() == magic[2],
                  try reader.u8() == magic[3], try reader.u8() == 1 else {
                throw OffsiteError(.malformed, "\(what) is not a pack index of version 1")
            }
            let stated = try reader.u64(), statedPlain = try reader.u64()
            guard stated <= UInt64(maximumPackLength), statedPlain <= UInt64(maximumPackLength) else {
                throw OffsiteError(.malformed, "\(what) names a pack of \(max(stated, statedPlain)) bytes")
            }
            let sealed = Int(stated), plain = Int(statedPlain)
            let count = try reader.count(limit: maximumPackLength / PackFormat.headerLength, minimumElementSize: entryLength)
            var entries: [Entry] = []
            entries.reserveCapacity(count)
            var end = PackFormat.fileMagic.count
            for _ in 0..<count {
                let id = try reader.id()
                guard let kind = BlobKind(rawValue: try reader.u8()), kind != .snapshot,
                      let compression = Compression(rawValue: try reader.u8()) else {
                    throw OffsiteError(.malformed, "\(what): an entry of unknown kind or compression")
                }
                let entry = Entry(id: id, kind: kind, compression: compression, offset: Int(try reader.u32()),
                                  storedLength: Int(try reader.u32()), rawLength: Int(try reader.u32()))
                // Records follow each other from the pack header on: nothing overlaps, nothing is outside.
                guard entry.offset == end, entry.rawLength <= kind.rawLimit,
                      entry.storedLength <= max(entry.rawLength, compression.maximumStoredLength(rawLength: entry.rawLength)) else {
                    throw OffsiteError(.malformed, "\(what): entry \(id.short) is out of place or too large")
                }
                end = entry.offset + PackFormat.headerLength + entry.storedLength
                entries.append(entry)
            }
            try reader.expectEnd()
            guard end == plain, sealed >= SealedObject.overhead + 1,
                  sealed <= SealedObject.overhead + 1 + max(plain, Compression.zstd.maximumStoredLength(rawLength: plain)) else {
                throw OffsiteError(.malformed, "\(what): its records end at \(end), the pack is \(plain) bytes (\(sealed) sealed)")
            }
            return PackIndex(sealedLength: sealed, plainLength: plain, entries: entries)
        } catch let error as OffsiteError {
            throw error
        } catch {
            throw OffsiteError(.malformed, "\(what) is cut short or malformed", underlying: error)
        }
    }
}

extension PackIndex.Entry {
    /// This entry's record in `bytes` (a pack's plaintext from byte `base` on), checked as a
    /// local record is: header against the entry, zstd, SHA-256 of the id. Also the raw bytes.
    func checkedRecord(in bytes: UnsafeRawBufferPointer, base: Int = 0, pack: String,
                       decompressor: Decompressor) throws(OffsiteError) -> (record: UnsafeRawBufferPointer, raw: [UInt8]) {
        let start = offset - base
        let end = start + PackFormat.headerLength + storedLength
        guard start >= 0, end <= bytes.count else {
            throw OffsiteError(.malformed, "\(ObjectName.pack(pack)): \(kind.name) \(id.short) runs past the end")
        }
        let record = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        do { return (record, try Store.decodeRecord(location, from: record, using: decompressor)) } catch {
            throw OffsiteError(.tampered, "\(ObjectName.pack(pack)): \(kind.name) \(id.short) fails its check (\(error))",
                               hint: "nothing from it was used; run `barge offsite verify NAME --read-data`", underlying: error)
        }
    }

    /// Where the record is, for the local checks (pack 0: not a local pack).
    var location: BlobLocation {
        BlobLocation(id: id, kind: kind, pack: 0, offset: offset, storedLength: storedLength, rawLength: rawLength, compression: compression)
    }
}
