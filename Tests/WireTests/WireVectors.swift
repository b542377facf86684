import Foundation
import Testing

import Wire

// The vectors in testdata/wire (written by make_frames.py) and helpers shared by the suites.

/// A valid frame and the message it stands for.
struct FrameVector: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let description: String
    let hex: String
    /// False: decode only, the message re-encodes to other bytes.
    let encodes: Bool
    let message: MessageSpec
    var testDescription: String { name }
}

/// A malformed frame and the code it must be refused with.
struct InvalidVector: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let description: String
    let hex: String
    let code: String
    var testDescription: String { "\(name): \(description)" }
}

enum WireVectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("testdata/wire")

    private struct File<Entry: Decodable>: Decodable { let frames: [Entry] }

    // A decoding failure leaves a list empty, which `vectorsAreLoaded` reports.
    static let frames: [FrameVector] = load("frames.json")
    static let invalid: [InvalidVector] = load("invalid.json")

    private static func load<Entry: Decodable>(_ name: String) -> [Entry] {
        let url = directory.appendingPathComponent(name)
        return (try? JSONDecoder().decode(File<Entry>.self, from: Data(contentsOf: url)))?.frames ?? []
    }

    /// Every valid frame with its message, in file order.
    static func decodedFrames() throws -> [(bytes: [UInt8], message: Message)] {
        try frames.map { (try hexBytes($0.hex), try $0.message.message()) }
    }
}

struct VectorError: Error, CustomStringConvertible {
    let description: String
}

func hexBytes(_ hex: String) throws -> [UInt8] {
    let digits = Array(hex.utf8)
    guard digits.count.isMultiple(of: 2) else { throw VectorError(description: "odd hex length \(digits.count)") }
    func nibble(_ c: UInt8) throws -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: throw VectorError(description: "bad hex digit \(c)")
        }
    }
    return try stride(from: 0, to: digits.count, by: 2).map { try nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
}

func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// The WireError code `body` threw, or nil if it returned.
func thrownCode<R>(_ body: () throws(WireError) -> R) -> WireError.Code? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.code
    }
}

/// Id number k of a generated list, as make_frames.py builds it: u16 big-endian k, then 30 bytes 0xa5.
func generatedID(_ k: Int) -> WireID {
    WireID([UInt8(k >> 8), UInt8(k & 0xFF)] + [UInt8](repeating: 0xA5, count: 30))!
}

/// A message as frames.json states it; which fields are set depends on `kind`.
struct MessageSpec: Decodable, Sendable {
    /// A list of hex ids, or {"generate": n}.
    enum IDs: Decodable, Sendable {
        case list([String])
        case generate(Int)

        private struct Generate: Decodable { let generate: Int }

        init(from decoder: any Decoder) throws {
            if let list = try? [String](from: decoder) {
                self = .list(list)
            } else {
                self = .generate(try Generate(from: decoder).generate)
            }
        }

        func ids() throws -> [WireID] {
            switch self {
            case let .list(list): try list.map(wireID)
            case let .generate(count): (0..<count).map(generatedID)
            }
        }
    }

    struct Request: Decodable, Sendable {
        let id: String
        let length: UInt32
        let basis: [String]
    }

    /// A list of requests, or {"generate": n, "length": l} (generated ids, no basis).
    enum Requests: Decodable, Sendable {
        case list([Request])
        case generate(Int, length: UInt32)

        private struct Generate: Decodable { let generate: Int; let length: UInt32 }

        init(from decoder: any Decoder) throws {
            if let list = try? [Request](from: decoder) {
                self = .list(list)
            } else {
                let spec = try Generate(from: decoder)
                self = .generate(spec.generate, length: spec.length)
            }
        }
    }

    let kind: String
    let version: UInt16?
    let node, code, text, volume, snapshot, owner, record, decision: String?
    let epoch, knownEpoch: UInt64?
    let ids: IDs?
    let requests: Requests?
    let id, blobKind, encoding, payload, chunk, signature, standby, phase: String?
    let rawLength: UInt32?
    let basis: [String]?
    let treeBasis: [[String]]?
    let records: [String]?
    let more: Bool?

    func message() throws -> Message {
        switch kind {
        case "hello":
            return .hello(version: try need(version, "version"), node: try need(node, "node"))
        case "error":
            let name = try need(code, "code")
            let found = WireError.Code.allCases.first { "\($0)" == name }
            return .error(WireError(try need(found, "a known code, not \(name)"), try need(text, "text")))
        case "offer":
            return .offer(volume: try need(volume, "volume"), snapshot: try wireID(need(snapshot, "snapshot")),
                          epoch: try need(epoch, "epoch"), owner: try need(owner, "owner"),
                          record: try hexBytes(need(record, "record")))
        case "offerReply":
            let decisions: [String: OfferDecision] = ["send": .send, "alreadyHave": .alreadyHave]
            return .offerReply(snapshot: try wireID(need(snapshot, "snapshot")),
                               decision: try need(decisions[try need(decision, "decision")], "a known decision"),
                               knownEpoch: try need(knownEpoch, "knownEpoch"))
        case "wantTrees":
            let list = try need(ids, "ids").ids()
            let bases = try (treeBasis ?? list.map { _ in [] }).map { try $0.map(wireID) }
            return .wantTrees(zip(list, bases).map { TreeRequest(id: $0, basis: $1) })
        case "wantChunks":
            switch try need(requests, "requests") {
            case let .list(list):
                return .wantChunks(try list.map { ChunkRequest(id: try wireID($0.id), length: $0.length, basis: try $0.basis.map(wireID)) })
            case let .generate(count, length):
                return .wantChunks((0..<count).map { ChunkRequest(id: generatedID($0), length: length, basis: []) })
            }
        case "blob":
            let kinds: [String: BlobKindOnWire] = ["chunk": .chunk, "tree": .tree]
            let encodings: [String: BlobEncoding] = ["raw": .raw, "zstd": .zstd, "delta": .delta, "zstdDelta": .zstdDelta, "lz4": .lz4]
            return .blob(BlobPayload(
                id: try wireID(need(id, "id")), kind: try need(kinds[try need(blobKind, "blobKind")], "a known blob kind"),
                encoding: try need(encodings[try need(encoding, "encoding")], "a known encoding"),
                rawLength: try need(rawLength, "rawLength"), basis: try need(basis, "basis").map(wireID),
                payload: try hexBytes(need(payload, "payload"))))
        case "needSignature":
            return .needSignature(chunk: try wireID(need(chunk, "chunk")))
        case "signature":
            return .signature(chunk: try wireID(need(chunk, "chunk")), basis: try need(basis, "basis").map(wireID),
                              signature: try hexBytes(need(signature, "signature")))
        case "ack":
            return .ack(snapshot: try wireID(need(snapshot, "snapshot")))
        case "queryOwnership":
            return .queryOwnership(volume: try need(volume, "volume"))
        case "ownership":
            return .ownership(volume: try need(volume, "volume"), owner: try need(owner, "owner"),
                              epoch: try need(epoch, "epoch"), standby: try standby.map(wireID))
        case "handover":
            return .handover(volume: try need(volume, "volume"), snapshot: try wireID(need(snapshot, "snapshot")),
                             epoch: try need(epoch, "epoch"), phase: try handoverPhase())
        case "handoverDone":
            return .handoverDone(volume: try need(volume, "volume"), epoch: try need(epoch, "epoch"), phase: try handoverPhase())
        case "keepalive":
            return .keepalive
        case "listSnapshots":
            return .listSnapshots(volume: try need(volume, "volume"))
        case "snapshotList":
            return .snapshotList(volume: try need(volume, "volume"), records: try need(records, "records").map(hexBytes),
                                 more: try need(more, "more"))
        case "fetch":
            return .fetch(volume: try need(volume, "volume"), snapshot: try snapshot.map(wireID))
        default:
            throw VectorError(description: "unknown message kind \(kind)")
        }
    }

    private func handoverPhase() throws -> HandoverPhase {
        let phases: [String: HandoverPhase] = ["prepare": .prepare, "commit": .commit, "abort": .abort]
        return try need(phases[try need(phase, "phase")], "a known phase")
    }

    private func need<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw VectorError(description: "\(kind) message lacks \(what)") }
        return value
    }
}

func wireID(_ hex: String) throws -> WireID {
    guard let id = WireID(try hexBytes(hex)) else { throw VectorError(description: "id \(hex) is not 32 bytes") }
    return id
}
