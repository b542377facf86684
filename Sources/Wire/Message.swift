/// How a blob's payload is encoded on the wire.
public enum BlobEncoding: UInt8, Sendable {
    /// The raw bytes.
    case raw = 0
    /// zstd-compressed raw bytes (as stored in a pack).
    case zstd = 1
    /// A librsync delta against the concatenation of the named basis chunks.
    case delta = 2
    /// u32 length of the delta, then the delta zstd-compressed.
    case zstdDelta = 3
    /// lz4-compressed raw bytes (one block, as stored in a pack).
    case lz4 = 4

    public var isDelta: Bool { self == .delta || self == .zstdDelta }
}

public enum BlobKindOnWire: UInt8, Sendable {
    case chunk = 1
    case tree = 2
}

/// A chunk the receiver asks for, with the chunks it holds that most likely
/// resemble it (the same region of the file's previous version).
public struct ChunkRequest: Sendable, Equatable {
    public var id: WireID
    public var length: UInt32
    public var basis: [WireID]
    public init(id: WireID, length: UInt32, basis: [WireID]) {
        self.id = id
        self.length = length
        self.basis = basis
    }
}

/// A tree the receiver asks for, with the tree at the same path in its newest
/// snapshot (at most one), against which the sender may send a delta.
public struct TreeRequest: Sendable, Equatable {
    public var id: WireID
    public var basis: [WireID]
    public init(id: WireID, basis: [WireID] = []) {
        self.id = id
        self.basis = basis
    }
}

public struct BlobPayload: Sendable, Equatable {
    public var id: WireID
    public var kind: BlobKindOnWire
    public var encoding: BlobEncoding
    public var rawLength: UInt32
    /// Non-empty only for `.delta`.
    public var basis: [WireID]
    public var payload: [UInt8]
    public init(id: WireID, kind: BlobKindOnWire, encoding: BlobEncoding, rawLength: UInt32, basis: [WireID] = [], payload: [UInt8]) {
        self.id = id
        self.kind = kind
        self.encoding = encoding
        self.rawLength = rawLength
        self.basis = basis
        self.payload = payload
    }
}

/// The two steps of a planned hand-over, and the way back.
public enum HandoverPhase: UInt8, Sendable {
    /// The target takes ownership at the new epoch and promotes its standby; no container yet.
    case prepare = 1
    /// The source has recorded the hand-over: the target starts the container.
    case commit = 2
    /// The source gives up before recording it: the target puts its copy back.
    case abort = 3
}

public enum OfferDecision: UInt8, Sendable {
    /// Ask for what is missing, then acknowledge.
    case send = 0
    /// The replica already holds the snapshot: acknowledged at once.
    case alreadyHave = 1
}

/// Every frame of protocol version 1. `docs/protocol.md` is the specification.
public enum Message: Sendable, Equatable {
    case hello(version: UInt16, node: String)
    case error(WireError)
    /// Sent by either side when it has sent nothing for a while: the other side
    /// tells a live but quiet peer from one that froze or was cut off.
    case keepalive
    case offer(volume: String, snapshot: WireID, epoch: UInt64, owner: String, record: [UInt8])
    case offerReply(snapshot: WireID, decision: OfferDecision, knownEpoch: UInt64)
    case wantTrees([TreeRequest])
    case wantChunks([ChunkRequest])
    case blob(BlobPayload)
    /// The sender lacks a request's basis: the receiver answers with `signature`.
    case needSignature(chunk: WireID)
    case signature(chunk: WireID, basis: [WireID], signature: [UInt8])
    case ack(snapshot: WireID)
    /// Asks who owns a volume, as the peer knows it.
    case queryOwnership(volume: String)
    /// The answer, or an unsolicited notice of a new owner and epoch. `standby`:
    /// the snapshot the sender's complete standby copy equals, if it has one.
    case ownership(volume: String, owner: String, epoch: UInt64, standby: WireID?)
    case handover(volume: String, snapshot: WireID, epoch: UInt64, phase: HandoverPhase)
    /// The target did the phase; for `commit`, the container was started.
    case handoverDone(volume: String, epoch: UInt64, phase: HandoverPhase)
    /// Asks for the peer's snapshots of a volume (history onto a node that lost its disk).
    case listSnapshots(volume: String)
    /// One page of the answer: encoded snapshot records, oldest first; `more` when pages follow.
    case snapshotList(volume: String, records: [[UInt8]], more: Bool)
    /// Asks the peer to offer one of its snapshots (nil: its newest complete one). The
    /// transfer then runs as usual with the roles reversed: the asking node receives.
    case fetch(volume: String, snapshot: WireID?)

    public enum Kind: UInt8, Sendable, CaseIterable {
        case hello = 1, error = 2, keepalive = 3
        case offer = 10, offerReply = 11, wantTrees = 12, wantChunks = 13, blob = 14
        case needSignature = 15, signature = 16, ack = 17
        case queryOwnership = 20, ownership = 21, handover = 22, handoverDone = 23
        case listSnapshots = 30, snapshotList = 31, fetch = 32
    }

    public var kind: Kind {
        switch self {
        case .hello: .hello
        case .error: .error
        case .keepalive: .keepalive
        case .offer: .offer
        case .offerReply: .offerReply
        case .wantTrees: .wantTrees
        case .wantChunks: .wantChunks
        case .blob: .blob
        case .needSignature: .needSignature
        case .signature: .signature
        case .ack: .ack
        case .queryOwnership: .queryOwnership
        case .ownership: .ownership
        case .handover: .handover
        case .handoverDone: .handoverDone
        case .listSnapshots: .listSnapshots
        case .snapshotList: .snapshotList
        case .fetch: .fetch
        }
    }

    /// The whole frame: length u32, type u8, payload.
    public func encodedFrame() -> [UInt8] {
        var writer = WireWriter(capacity: 64)
        writer.u32(0)
        writer.u8(kind.rawValue)
        switch self {
        case let .hello(version, node):
            writer.u16(version)
            writer.string(node)
        case let .error(error):
            writer.u16(error.code.rawValue)
            writer.data(Self.utf8Prefix(error.message, limit: WireLimits.maxErrorMessageLength))
        case .keepalive:
            break
        case let .offer(volume, snapshot, epoch, owner, record):
            writer.string(volume)
            writer.id(snapshot)
            writer.u64(epoch)
            writer.string(owner)
            writer.data(record)
        case let .offerReply(snapshot, decision, knownEpoch):
            writer.id(snapshot)
            writer.u8(decision.rawValue)
            writer.u64(knownEpoch)
        case let .wantTrees(requests):
            writer.u16(UInt16(requests.count))
            for request in requests {
                writer.id(request.id)
                Self.write(basis: request.basis, into: &writer)
            }
        case let .wantChunks(requests):
            writer.u16(UInt16(requests.count))
            for request in requests {
                writer.id(request.id)
                writer.u32(request.length)
                Self.write(basis: request.basis, into: &writer)
            }
        case let .blob(blob):
            writer.id(blob.id)
            writer.u8(blob.kind.rawValue)
            writer.u8(blob.encoding.rawValue)
            writer.u32(blob.rawLength)
            Self.write(basis: blob.basis, into: &writer)
            writer.data(blob.payload)
        case let .needSignature(chunk):
            writer.id(chunk)
        case let .signature(chunk, basis, signature):
            writer.id(chunk)
            Self.write(basis: basis, into: &writer)
            writer.data(signature)
        case let .ack(snapshot):
            writer.id(snapshot)
        case let .queryOwnership(volume):
            writer.string(volume)
        case let .ownership(volume, owner, epoch, standby):
            writer.string(volume)
            writer.string(owner)
            writer.u64(epoch)
            if let standby { writer.u8(1); writer.id(standby) } else { writer.u8(0) }
        case let .handover(volume, snapshot, epoch, phase):
            writer.string(volume)
            writer.id(snapshot)
            writer.u64(epoch)
            writer.u8(phase.rawValue)
        case let .handoverDone(volume, epoch, phase):
            writer.string(volume)
            writer.u64(epoch)
            writer.u8(phase.rawValue)
        case let .listSnapshots(volume):
            writer.string(volume)
        case let .snapshotList(volume, records, more):
            writer.string(volume)
            writer.u16(UInt16(records.count))
            for record in records { writer.data(record) }
            writer.u8(more ? 1 : 0)
        case let .fetch(volume, snapshot):
            writer.string(volume)
            if let snapshot { writer.u8(1); writer.id(snapshot) } else { writer.u8(0) }
        }
        let length = UInt32(writer.bytes.count - 4)
        withUnsafeBytes(of: length.bigEndian) { raw in
            for index in 0..<4 { writer.bytes[index] = raw[index] }
        }
        return writer.bytes
    }

    /// At most `limit` bytes of `text`, cut before a scalar so the bytes stay UTF-8: the
    /// decoder takes up to `limit`, and a message it takes must re-encode unchanged.
    private static func utf8Prefix(_ text: String, limit: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return bytes }
        var end = limit
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }  // 10xxxxxx continues a scalar
        return Array(bytes[..<end])
    }

    private static func write(basis: [WireID], into writer: inout WireWriter) {
        writer.u8(UInt8(basis.count))
        for id in basis { writer.id(id) }
    }

    /// Decodes one frame's type and payload (the bytes after the length).
    public static func decode(type: UInt8, payload: [UInt8]) throws(WireError) -> Message {
        guard let kind = Kind(rawValue: type) else { throw WireError(.malformed, "unknown frame type \(type)") }
        var reader = WireReader(payload)
        let message: Message
        switch kind {
        case .hello:
            message = .hello(version: try reader.u16("hello.version"),
                             node: try nodeName(&reader, "hello.node"))
        case .error:
            let raw = try reader.u16("error.code")
            let text = try reader.string("error.message", limit: WireLimits.maxErrorMessageLength)
            // Unknown codes from a newer peer still end the session, as internal errors.
            message = .error(WireError(WireError.Code(rawValue: raw) ?? .internalError, text))
        case .offer:
            let volume = try reader.string("offer.volume", limit: WireLimits.maxVolumeNameLength)
            guard !volume.isEmpty else { throw WireError(.malformed, "offer.volume is empty") }
            message = .offer(volume: volume, snapshot: try reader.id("offer.snapshot"), epoch: try reader.u64("offer.epoch"),
                             owner: try nodeName(&reader, "offer.owner"),
                             record: try reader.data("offer.record", limit: WireLimits.maxSnapshotRecordLength))
        case .offerReply:
            let snapshot = try reader.id("offerReply.snapshot")
            let raw = try reader.u8("offerReply.decision")
            guard let decision = OfferDecision(rawValue: raw) else { throw WireError(.malformed, "offerReply.decision \(raw)") }
            message = .offerReply(snapshot: snapshot, decision: decision, knownEpoch: try reader.u64("offerReply.knownEpoch"))
        case .wantTrees:
            let count = try reader.count("wantTrees.count", limit: WireLimits.maxTreesPerRequest, elementSize: WireID.byteCount + 1)
            var requests: [TreeRequest] = []
            requests.reserveCapacity(count)
            for _ in 0..<count {
                let id = try reader.id("wantTrees.id")
                requests.append(TreeRequest(id: id, basis: try basis(&reader, "wantTrees.basis")))
            }
            message = .wantTrees(requests)
        case .wantChunks:
            let count = try reader.count("wantChunks.count", limit: WireLimits.maxChunksPerRequest, elementSize: WireID.byteCount + 5)
            var requests: [ChunkRequest] = []
            requests.reserveCapacity(count)
            for _ in 0..<count {
                let id = try reader.id("wantChunks.id")
                let length = try reader.u32("wantChunks.length")
                guard length > 0, length <= WireLimits.maxRawChunkLength else {
                    throw WireError(.limitExceeded, "wantChunks.length \(length) outside 1...\(WireLimits.maxRawChunkLength)")
                }
                requests.append(ChunkRequest(id: id, length: length, basis: try basis(&reader, "wantChunks.basis")))
            }
            message = .wantChunks(requests)
        case .blob:
            message = .blob(try blob(&reader))
        case .needSignature:
            message = .needSignature(chunk: try reader.id("needSignature.chunk"))
        case .signature:
            let chunk = try reader.id("signature.chunk")
            let ids = try basis(&reader, "signature.basis")
            guard !ids.isEmpty else { throw WireError(.malformed, "signature.basis is empty") }
            message = .signature(chunk: chunk, basis: ids, signature: try reader.data("signature.bytes", limit: WireLimits.maxSignatureLength))
        case .ack:
            message = .ack(snapshot: try reader.id("ack.snapshot"))
        case .queryOwnership:
            message = .queryOwnership(volume: try volumeName(&reader, "queryOwnership.volume"))
        case .ownership:
            let volume = try volumeName(&reader, "ownership.volume")
            let owner = try nodeName(&reader, "ownership.owner")
            let epoch = try reader.u64("ownership.epoch")
            let flag = try reader.u8("ownership.hasStandby")
            guard flag <= 1 else { throw WireError(.malformed, "ownership.hasStandby \(flag)") }
            message = .ownership(volume: volume, owner: owner, epoch: epoch, standby: flag == 1 ? try reader.id("ownership.standby") : nil)
        case .handover:
            let volume = try volumeName(&reader, "handover.volume")
            let snapshot = try reader.id("handover.snapshot")
            let epoch = try reader.u64("handover.epoch")
            message = .handover(volume: volume, snapshot: snapshot, epoch: epoch, phase: try phase(&reader, "handover.phase"))
        case .handoverDone:
            let volume = try volumeName(&reader, "handoverDone.volume")
            let epoch = try reader.u64("handoverDone.epoch")
            message = .handoverDone(volume: volume, epoch: epoch, phase: try phase(&reader, "handoverDone.phase"))
        case .listSnapshots:
            message = .listSnapshots(volume: try volumeName(&reader, "listSnapshots.volume"))
        case .snapshotList:
            let volume = try volumeName(&reader, "snapshotList.volume")
            let count = try reader.count("snapshotList.count", limit: WireLimits.maxSnapshotsPerPage, elementSize: 4, allowZero: true)
            var records: [[UInt8]] = []
            records.reserveCapacity(count)
            for _ in 0..<count { records.append(try reader.data("snapshotList.record", limit: WireLimits.maxSnapshotRecordLength)) }
            let more = try reader.u8("snapshotList.more")
            guard more <= 1 else { throw WireError(.malformed, "snapshotList.more \(more)") }
            message = .snapshotList(volume: volume, records: records, more: more == 1)
        case .keepalive:
            message = .keepalive
        case .fetch:
            let volume = try volumeName(&reader, "fetch.volume")
            let flag = try reader.u8("fetch.hasSnapshot")
            guard flag <= 1 else { throw WireError(.malformed, "fetch.hasSnapshot \(flag)") }
            message = .fetch(volume: volume, snapshot: flag == 1 ? try reader.id("fetch.snapshot") : nil)
        }
        try reader.expectEnd("\(kind) frame")
        return message
    }

    private static func volumeName(_ reader: inout WireReader, _ field: String) throws(WireError) -> String {
        let name = try reader.string(field, limit: WireLimits.maxVolumeNameLength)
        guard !name.isEmpty else { throw WireError(.malformed, "\(field) is empty") }
        return name
    }

    private static func phase(_ reader: inout WireReader, _ field: String) throws(WireError) -> HandoverPhase {
        let raw = try reader.u8(field)
        guard let phase = HandoverPhase(rawValue: raw) else { throw WireError(.malformed, "\(field) \(raw)") }
        return phase
    }

    private static func nodeName(_ reader: inout WireReader, _ field: String) throws(WireError) -> String {
        let name = try reader.string(field, limit: WireLimits.maxNodeNameLength)
        guard !name.isEmpty else { throw WireError(.malformed, "\(field) is empty") }
        return name
    }

    private static func basis(_ reader: inout WireReader, _ field: String) throws(WireError) -> [WireID] {
        let count = Int(try reader.u8(field))
        guard count <= WireLimits.maxBasisChunks else {
            throw WireError(.limitExceeded, "\(field): \(count) basis chunks, at most \(WireLimits.maxBasisChunks)")
        }
        var ids: [WireID] = []
        for _ in 0..<count { ids.append(try reader.id(field)) }
        return ids
    }

    private static func blob(_ reader: inout WireReader) throws(WireError) -> BlobPayload {
        let id = try reader.id("blob.id")
        let rawKind = try reader.u8("blob.kind")
        guard let kind = BlobKindOnWire(rawValue: rawKind) else { throw WireError(.malformed, "blob.kind \(rawKind)") }
        let rawEncoding = try reader.u8("blob.encoding")
        guard let encoding = BlobEncoding(rawValue: rawEncoding) else { throw WireError(.malformed, "blob.encoding \(rawEncoding)") }
        let rawLength = try reader.u32("blob.rawLength")
        let limit = kind == .chunk ? WireLimits.maxRawChunkLength : WireLimits.maxRawTreeLength
        guard Int(rawLength) <= limit else {
            throw WireError(.limitExceeded, "blob.rawLength \(rawLength) exceeds \(limit) for a \(kind)")
        }
        let ids = try basis(&reader, "blob.basis")
        guard encoding.isDelta == !ids.isEmpty else {
            throw WireError(.malformed, "blob \(id): a delta needs a basis, and only a delta names one")
        }
        let payload = try reader.data("blob.payload", limit: WireLimits.maxBlobPayload)
        guard encoding != .raw || payload.count == Int(rawLength) else {
            throw WireError(.malformed, "blob \(id): raw payload of \(payload.count) bytes, rawLength \(rawLength)")
        }
        return BlobPayload(id: id, kind: kind, encoding: encoding, rawLength: rawLength, basis: ids, payload: payload)
    }
}
