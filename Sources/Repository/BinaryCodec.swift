/// Little-endian writer for the store's own formats (pack headers, trees,
/// snapshot records). Deterministic: the same values give the same bytes.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }
    public mutating func u16(_ value: UInt16) { integer(value) }
    public mutating func u32(_ value: UInt32) { integer(value) }
    public mutating func u64(_ value: UInt64) { integer(value) }
    public mutating func i64(_ value: Int64) { integer(value) }
    public mutating func raw(_ value: [UInt8]) { bytes.append(contentsOf: value) }
    public mutating func id(_ value: BlobID) { value.append(to: &bytes) }

    /// A length-prefixed byte string (u32 length).
    public mutating func data(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func string(_ value: String) { data(Array(value.utf8)) }

    private mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reader for the formats `BinaryWriter` writes. Every read is bounds-checked:
/// the bytes come from disk or the network and are never trusted.
public struct BinaryReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int
    private let what: String

    public init(_ bytes: [UInt8], what: String) {
        self.bytes = bytes
        self.offset = 0
        self.what = what
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func u8() throws -> UInt8 { try take(1).first! }
    public mutating func u16() throws -> UInt16 { try integer() }
    public mutating func u32() throws -> UInt32 { try integer() }
    public mutating func u64() throws -> UInt64 { try integer() }
    public mutating func i64() throws -> Int64 { try integer() }

    public mutating func id() throws -> BlobID {
        BlobID(bytes: try take(BlobID.byteCount))!
    }

    /// A length-prefixed byte string, refused when longer than `limit`.
    public mutating func data(limit: Int) throws -> [UInt8] {
        let length = Int(try u32())
        guard length <= limit else {
            throw RepositoryError(.limitExceeded, "\(what): a field of \(length) bytes exceeds its limit of \(limit)")
        }
        return Array(try take(length))
    }

    public mutating func string(limit: Int) throws -> String {
        let raw = try data(limit: limit)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw RepositoryError(.corrupt, "\(what): a text field is not valid UTF-8")
        }
        return text
    }

    /// A count that will size an allocation: bounded by `limit` and by the bytes left.
    public mutating func count(limit: Int, minimumElementSize: Int) throws -> Int {
        let value = Int(try u32())
        guard value <= limit, value * minimumElementSize <= remaining else {
            throw RepositoryError(.limitExceeded, "\(what): a count of \(value) exceeds its limit or the bytes left")
        }
        return value
    }

    public func expectEnd() throws {
        guard isAtEnd else { throw RepositoryError(.corrupt, "\(what): \(remaining) trailing bytes") }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw RepositoryError(.corrupt, "\(what): truncated at byte \(offset) (wanted \(count), \(remaining) left)")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    private mutating func integer<T: FixedWidthInteger>() throws -> T {
        let slice = try take(MemoryLayout<T>.size)
        var value = T.zero
        for (index, byte) in slice.enumerated() { value |= T(byte) << (index * 8) }
        return value
    }
}
