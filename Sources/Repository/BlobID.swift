import Crypto
import Foundation

/// The SHA-256 of an object's uncompressed bytes: chunks, trees and snapshots
/// are all named by it, so any reader can check what it was given.
public struct BlobID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    // Four words hash and compare faster than an array and need no allocation.
    public let w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        // Big-endian words, built without an intermediate allocation.
        var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var index = 0
        for byte in bytes {
            switch index >> 3 {
            case 0: words.0 = words.0 << 8 | UInt64(byte)
            case 1: words.1 = words.1 << 8 | UInt64(byte)
            case 2: words.2 = words.2 << 8 | UInt64(byte)
            default: words.3 = words.3 << 8 | UInt64(byte)
            }
            index += 1
        }
        (w0, w1, w2, w3) = words
    }

    /// Appends the 32 bytes to `buffer` (big-endian words).
    public func append(to buffer: inout [UInt8]) {
        for word in [w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian] {
            withUnsafeBytes(of: word) { buffer.append(contentsOf: $0) }
        }
    }

    public init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = [UInt8](hexString: hex) else { return nil }
        self.init(bytes: bytes)
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> BlobID {
        BlobID(bytes: Array(SHA256.hash(data: bytes)))!
    }

    public static func hash(_ bytes: [UInt8]) -> BlobID {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The id of an object of `kind`: SHA-256 of a kind prefix and the bytes,
    /// so an object of one kind never has the id of another, whatever a file holds.
    public static func of(_ kind: BlobKind, _ bytes: UnsafeRawBufferPointer) -> BlobID {
        var hasher = SHA256()
        hasher.update(data: kind.idPrefix)
        hasher.update(bufferPointer: bytes)
        return BlobID(bytes: Array(hasher.finalize()))!
    }

    public static func of(_ kind: BlobKind, _ bytes: [UInt8]) -> BlobID {
        bytes.withUnsafeBytes { of(kind, $0) }
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        append(to: &out)
        return out
    }

    public var data: Data { Data(bytes) }
    public var hex: String { bytes.hexString }
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }

    public static func < (a: BlobID, b: BlobID) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }
}

extension Array where Element == UInt8 {
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public init?(hexString: String) {
        let utf8 = Array(hexString.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        self = out
    }
}
