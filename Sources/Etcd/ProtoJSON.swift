import Foundation

// proto3 JSON scalars as the gateway writes them: 64-bit integers as decimal
// strings (numbers are accepted too), bytes as standard base64. Zero values
// are left out, so message fields using these are optional.

/// A signed 64-bit integer, a string on the wire.
struct ProtoInt64: Codable, Sendable, Equatable {
    var value: Int64

    init(_ value: Int64) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Int64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an int64: \(text.prefix(40))")
            }
            self.value = value
        } else {
            value = try container.decode(Int64.self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }
}

/// An unsigned 64-bit integer (cluster, member ids, raft terms), a string on the wire.
struct ProtoUInt64: Codable, Sendable, Equatable {
    var value: UInt64

    init(_ value: UInt64) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = UInt64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a uint64: \(text.prefix(40))")
            }
            self.value = value
        } else {
            value = try container.decode(UInt64.self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }
}

/// A byte string, base64 on the wire. Keys and values are arbitrary bytes, not text.
struct ProtoBytes: Codable, Sendable, Equatable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let data = Data(base64Encoded: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not base64 (\(text.count) characters)")
        }
        bytes = [UInt8](data)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Data(bytes).base64EncodedString())
    }
}

extension Optional where Wrapped == ProtoInt64 {
    /// The value, or the proto3 default 0 when the field was left out.
    var orZero: Int64 { self?.value ?? 0 }
}

extension Optional where Wrapped == ProtoUInt64 {
    var orZero: UInt64 { self?.value ?? 0 }
}
