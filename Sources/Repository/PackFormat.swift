/// The kinds of object a pack holds, each named by the SHA-256 of a kind prefix and its raw bytes.
public enum BlobKind: UInt8, Sendable, CaseIterable {
    case chunk = 1
    case tree = 2
    case snapshot = 3

    public var name: String {
        switch self {
        case .chunk: "chunk"
        case .tree: "tree"
        case .snapshot: "snapshot"
        }
    }

    /// Hashed before the bytes of trees and snapshot records (domain separation).
    /// Every kind has one, chunks included: with a prefix on one side only,
    /// file content could be made to equal a prefixed tree encoding.
    var idPrefix: [UInt8] {
        switch self {
        case .chunk: Array("barge chunk\n".utf8)
        case .tree: Array("barge tree\n".utf8)
        case .snapshot: Array("barge snapshot\n".utf8)
        }
    }

    /// The largest raw object of this kind a reader accepts.
    public var rawLimit: Int {
        switch self {
        case .chunk: PackFormat.maxChunkLength
        case .tree: PackFormat.maxTreeLength
        case .snapshot: PackFormat.maxSnapshotLength
        }
    }
}

/// On-disk framing of pack files (see docs/design.md, "Packs").
///
///     file   = "BARGEPK1" record*
///     record = magic u32 "BRB1" | kind u8 | compression u8 | reserved u16 (0)
///            | stored_length u32 | raw_length u32 | id [32] | payload [stored_length]
///
/// All integers little-endian. The header repeats the id so the index can be
/// rebuilt from packs alone and so a reader can check it landed on the right record.
public enum PackFormat {
    public static let fileMagic: [UInt8] = Array("BARGEPK1".utf8)
    public static let recordMagic: UInt32 = 0x3142_5242 // "BRB1" little-endian
    public static let headerLength = 48

    public static let maxChunkLength = 4 * 1024 * 1024
    public static let maxTreeLength = 64 * 1024 * 1024
    public static let maxSnapshotLength = 1024 * 1024
    /// A pack is closed for appends once it reaches this size.
    public static let targetPackSize = 64 * 1024 * 1024

    public struct RecordHeader: Sendable, Equatable {
        public var kind: BlobKind
        public var compression: Compression
        public var storedLength: Int
        public var rawLength: Int
        public var id: BlobID

        public init(kind: BlobKind, compression: Compression, storedLength: Int, rawLength: Int, id: BlobID) {
            self.kind = kind
            self.compression = compression
            self.storedLength = storedLength
            self.rawLength = rawLength
            self.id = id
        }

        public func encoded() -> [UInt8] {
            var writer = BinaryWriter(capacity: headerLength)
            writer.u32(recordMagic)
            writer.u8(kind.rawValue)
            writer.u8(compression.rawValue)
            writer.u16(0)
            writer.u32(UInt32(storedLength))
            writer.u32(UInt32(rawLength))
            writer.id(id)
            return writer.bytes
        }

        /// Parses and bounds-checks a header; `what` names the place for errors.
        public static func decode(_ bytes: [UInt8], what: String) throws -> RecordHeader {
            var reader = BinaryReader(bytes, what: what)
            guard try reader.u32() == recordMagic else {
                throw RepositoryError(.corrupt, "\(what): no record starts here (bad magic)")
            }
            let kindByte = try reader.u8()
            let compressionByte = try reader.u8()
            guard let kind = BlobKind(rawValue: kindByte) else {
                throw RepositoryError(.corrupt, "\(what): unknown record kind \(kindByte)")
            }
            guard let compression = Compression(rawValue: compressionByte) else {
                throw RepositoryError(.corrupt, "\(what): unknown compression \(compressionByte)")
            }
            guard try reader.u16() == 0 else { throw RepositoryError(.corrupt, "\(what): reserved bits set") }
            let stored = Int(try reader.u32())
            let raw = Int(try reader.u32())
            let id = try reader.id()
            guard raw <= kind.rawLimit else {
                throw RepositoryError(.limitExceeded, "\(what): \(kind.name) of \(raw) bytes exceeds the limit of \(kind.rawLimit)")
            }
            let storedLimit = compression.maximumStoredLength(rawLength: raw)
            guard stored <= storedLimit, compression != .none || stored == raw else {
                throw RepositoryError(.corrupt, "\(what): stored length \(stored) does not fit raw length \(raw)")
            }
            return RecordHeader(kind: kind, compression: compression, storedLength: stored, rawLength: raw, id: id)
        }
    }

    public static func fileName(pack: Int64) -> String {
        let hex = String(pack, radix: 16)
        return String(repeating: "0", count: max(0, 8 - hex.count)) + hex + ".pack"
    }

    /// The number of a pack file name as `fileName(pack:)` writes it, else nil.
    public static func packNumber(fileName: String) -> Int64? {
        guard fileName.hasSuffix(".pack"), let number = Int64(fileName.dropLast(5), radix: 16), number > 0,
              self.fileName(pack: number) == fileName else { return nil }
        return number
    }
}
