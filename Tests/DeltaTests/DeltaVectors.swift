import Foundation
import Testing

import Delta
import TestSupport

// Test vectors (testdata/delta/cases.json), a seeded PRNG and helpers shared by the suites.

struct Edit: Decodable, Sendable {
    enum Kind: String, Decodable, Sendable { case overwrite, insert, delete, replace }
    var kind: Kind
    var offset: Int
    var length: Int
}

/// One entry of testdata/delta/cases.json; its "about" field documents the format.
struct DeltaCase: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var size: Int
    var seed: UInt64
    var blockLength: Int?
    var strongLength: Int?
    var maxDeltaFraction: Double?
    var edits: [Edit]

    var testDescription: String { name }

    struct BadEdit: Error, CustomStringConvertible {
        var description: String
    }

    /// The basis and the edited new data.
    func data() throws -> (basis: [UInt8], new: [UInt8]) {
        var rng = SplitMix64(seed: seed)
        let basis = rng.bytes(size)
        var new = basis
        for edit in edits {
            let end = edit.offset + edit.length
            switch edit.kind {
            case .overwrite, .delete:
                guard edit.offset >= 0, edit.length >= 0, end <= new.count else {
                    throw BadEdit(description: "\(name): \(edit) outside \(new.count) bytes")
                }
                if edit.kind == .overwrite {
                    new.replaceSubrange(edit.offset..<end, with: rng.bytes(edit.length))
                } else {
                    new.removeSubrange(edit.offset..<end)
                }
            case .insert:
                guard edit.offset >= 0, edit.offset <= new.count else {
                    throw BadEdit(description: "\(name): \(edit) outside \(new.count) bytes")
                }
                new.insert(contentsOf: rng.bytes(edit.length), at: edit.offset)
            case .replace:
                new = rng.bytes(edit.length)
            }
        }
        return (basis, new)
    }

    func parameters() -> SignatureParameters {
        let recommended = SignatureParameters.recommended(forBasisSize: size)
        return SignatureParameters(blockLength: blockLength ?? recommended.blockLength,
                                   strongLength: strongLength ?? recommended.strongLength)
    }

    /// Loaded relative to this file: Tests/DeltaTests/ is two levels below the repo root.
    static func all() throws -> [DeltaCase] {
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let url = root.appendingPathComponent("testdata/delta/cases.json")
        struct File: Decodable { var cases: [DeltaCase] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    static func named(_ name: String) throws -> DeltaCase {
        let found = try all().first { $0.name == name }
        return try #require(found, "no case named \(name) in cases.json")
    }
}

/// Runs `body` and returns the DeltaError code it threw, or nil if it returned.
func errorCode<R>(_ body: () throws(DeltaError) -> R) -> DeltaError.Code? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.code
    }
}

/// Hand-made deltas: magic 0x72730236, then commands; COPY_N8_N8 (0x54) takes two
/// big-endian 64-bit operands, END is 0.
enum Craft {
    static let header: [UInt8] = [0x72, 0x73, 0x02, 0x36]

    static func copy(at position: Int64, length: Int64, header: Bool = true) -> [UInt8] {
        func be(_ v: Int64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }
        return (header ? Self.header : []) + [0x54] + be(position) + be(length)
    }
}

extension SplitMix64 {
    /// `bytes` for a `let` initializer, where a mutating call is awkward.
    func bytesCopy(_ count: Int) -> [UInt8] {
        var copy = self
        return copy.bytes(count)
    }
}
