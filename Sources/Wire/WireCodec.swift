/// Big-endian field writer for frames.
struct WireWriter {
    var bytes: [UInt8]

    init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { integer(value) }
    mutating func u32(_ value: UInt32) { integer(value) }
    mutating func u64(_ value: UInt64) { integer(value) }
    mutating func id(_ value: WireID) { bytes.append(contentsOf: value.bytes) }
    mutating func string(_ value: String) { data(Array(value.utf8)) }

    /// u32 length, then the bytes.
    mutating func data(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    private mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Bounds-checked reader: every count and length is checked against what is
/// left and against its named limit before anything is allocated.
struct WireReader {
    private let bytes: [UInt8]
    private var offset: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    mutating func u8(_ field: String) throws(WireError) -> UInt8 { try integer(field) }
    mutating func u16(_ field: String) throws(WireError) -> UInt16 { try integer(field) }
    mutating func u32(_ field: String) throws(WireError) -> UInt32 { try integer(field) }
    mutating func u64(_ field: String) throws(WireError) -> UInt64 { try integer(field) }

    mutating func id(_ field: String) throws(WireError) -> WireID {
        WireID(try take(WireID.byteCount, field))!
    }

    mutating func data(_ field: String, limit: Int) throws(WireError) -> [UInt8] {
        let length = Int(try u32(field))
        guard length <= limit else {
            throw WireError(.limitExceeded, "\(field): \(length) bytes exceeds the limit of \(limit)")
        }
        return try take(length, field)
    }

    mutating func string(_ field: String, limit: Int) throws(WireError) -> String {
        let raw = try data(field, limit: limit)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw WireError(.malformed, "\(field) is not UTF-8")
        }
        return text
    }

    /// A count in 1...limit (or 0...limit), each element at least `elementSize` bytes.
    mutating func count(_ field: String, limit: Int, elementSize: Int, allowZero: Bool = false) throws(WireError) -> Int {
        let count = Int(try u16(field))
        guard count <= limit, allowZero || count > 0 else {
            throw WireError(.limitExceeded, "\(field): count \(count) outside \(allowZero ? 0 : 1)...\(limit)")
        }
        guard count * elementSize <= bytes.count - offset else {
            throw WireError(.malformed, "\(field): \(count) elements do not fit in the frame")
        }
        return count
    }

    func expectEnd(_ what: String) throws(WireError) {
        guard offset == bytes.count else {
            throw WireError(.malformed, "\(what): \(bytes.count - offset) bytes left over")
        }
    }

    private mutating func take(_ count: Int, _ field: String) throws(WireError) -> [UInt8] {
        guard count >= 0, count <= bytes.count - offset else {
            throw WireError(.malformed, "\(field): frame ends early")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    private mutating func integer<T: FixedWidthInteger>(_ field: String) throws(WireError) -> T {
        let raw = try take(MemoryLayout<T>.size, field)
        var value: T = 0
        for byte in raw { value = value << 8 | T(byte) }
        return value
    }
}
