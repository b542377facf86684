import Repository

/// The plaintext of a pack being assembled, in the local pack format, so a restore checks
/// its records with the same code that checks local packs.
struct PackBuilder: Sendable {
    private(set) var bytes: [UInt8] = PackFormat.fileMagic
    private(set) var entries: [PackIndex.Entry] = []
    var size: Int { bytes.count }
    var count: Int { entries.count }

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    /// Appends a record holding `raw` uncompressed.
    mutating func appendRaw(id: BlobID, kind: BlobKind, raw: [UInt8]) {
        entries.append(PackIndex.Entry(id: id, kind: kind, compression: .none, offset: bytes.count,
                                       storedLength: raw.count, rawLength: raw.count))
        bytes += PackFormat.RecordHeader(kind: kind, compression: .none, storedLength: raw.count, rawLength: raw.count, id: id).encoded()
        bytes += raw
    }

    mutating func append(_ location: BlobLocation, record: UnsafeRawBufferPointer) {
        entries.append(PackIndex.Entry(id: location.id, kind: location.kind, compression: location.compression,
                                       offset: bytes.count, storedLength: location.storedLength, rawLength: location.rawLength))
        bytes.append(contentsOf: record)
    }
}

/// Hands a pack to its upload task, which takes it out, so the plaintext is released once sealed.
final class PackBox: @unchecked Sendable {
    private var pack: PackBuilder?
    let count: Int
    init(_ pack: PackBuilder) {
        self.pack = pack
        count = pack.count
    }
    func take() -> PackBuilder {
        defer { pack = nil }
        return pack!
    }
}
