import Delta
import Foundation
import Repository
import Wire

/// The sender's side of a blob: reads it from the store (checking its hash:
/// a damaged pack is reported here, not shipped) and picks the cheapest form.
final class BlobEncoder {
    /// Below this a delta saves too little to be worth a signature pass.
    static let minimumDeltaCandidate = 2048
    /// Block length of signatures the sender computes itself: they never
    /// travel, so small blocks cost only CPU and find small edits.
    static let localBlockLength = 512

    private let store: Store
    private let compressor = Compressor(codec: .zstd, level: 3)
    private let decompressor = Decompressor()
    private(set) var chunksStored = 0
    private(set) var chunksDelta = 0
    private(set) var trees = 0
    private(set) var treesDelta = 0

    /// Locations of the request being answered, looked up at once (`use`).
    private var prefetched: [BlobID: BlobLocation] = [:]

    init(store: Store) { self.store = store }

    /// The locations of a whole request's blobs, looked up in one read
    /// transaction: one per blob, or per few, cost the owner a third of its
    /// CPU on trees of small files (each transaction begins, takes a reader
    /// and ends). A location gc moves meanwhile is followed by the store's read.
    func use(_ locations: [BlobID: BlobLocation]) {
        prefetched = locations
    }

    enum ChunkAnswer {
        case blob(BlobPayload)
        /// The request names a basis this node lacks: ask for its signature.
        case needSignature
    }

    /// A tree, as a delta against the tree at the same path in the replica's
    /// newest snapshot when this node has that tree too (usually: it sent it).
    func tree(_ request: TreeRequest) throws -> BlobPayload {
        let (location, raw, stored) = try read(BlobID(request.id), kind: .tree)
        trees += 1
        let plain = payload(request.id, .tree, location, raw: raw, stored: stored)
        guard let basisID = request.basis.first, request.basis.count == 1, raw.count >= Self.minimumDeltaCandidate,
              let basisLocation = try store.index.location(of: BlobID(basisID)), basisLocation.kind == .tree else { return plain }
        let basis = try store.read(basisLocation, using: decompressor)
        let signature = try Rsync.signature(of: basis, parameters: SignatureParameters(blockLength: Self.localBlockLength))
        guard let delta = try delta(request.id, kind: .tree, raw: raw, signature: signature, basis: request.basis),
              delta.payload.count + 64 < plain.payload.count * 9 / 10 else { return plain }
        treesDelta += 1
        return delta
    }

    func chunk(_ request: ChunkRequest) throws -> ChunkAnswer {
        let (location, raw, stored) = try read(BlobID(request.id), kind: .chunk)
        guard raw.count == Int(request.length) else {
            throw ReplicationError.fail(.malformed, "chunk \(request.id) is \(raw.count) bytes, the request says \(request.length)")
        }
        let plain = payload(request.id, .chunk, location, raw: raw, stored: stored)
        guard !request.basis.isEmpty, raw.count >= Self.minimumDeltaCandidate else { return settle(plain, nil) }
        let locations = try store.index.locations(of: request.basis.map(BlobID.init))
        guard locations.count == Set(request.basis).count else { return .needSignature }
        var basis: [UInt8] = []
        for id in request.basis { basis += try store.read(locations[BlobID(id)]!, using: decompressor) }
        let signature = try Rsync.signature(of: basis, parameters: SignatureParameters(blockLength: Self.localBlockLength))
        return settle(plain, try delta(request.id, kind: .chunk, raw: raw, signature: signature, basis: request.basis))
    }

    /// Answers a `signature` the receiver sent for a basis only it holds.
    func chunk(_ id: WireID, length: UInt32, signature: [UInt8], basis: [WireID]) throws -> BlobPayload {
        let (location, raw, stored) = try read(BlobID(id), kind: .chunk)
        guard raw.count == Int(length) else {
            throw ReplicationError.fail(.malformed, "chunk \(id) is \(raw.count) bytes, the request says \(length)")
        }
        let plain = payload(id, .chunk, location, raw: raw, stored: stored)
        let answer = settle(plain, try delta(id, kind: .chunk, raw: raw, signature: signature, basis: basis))
        guard case let .blob(blob) = answer else { return plain }
        return blob
    }

    private func settle(_ plain: BlobPayload, _ delta: BlobPayload?) -> ChunkAnswer {
        // A delta must win clearly: patching costs the receiver a basis read.
        if let delta, delta.payload.count + 64 < plain.payload.count * 9 / 10 {
            chunksDelta += 1
            return .blob(delta)
        }
        chunksStored += 1
        return .blob(plain)
    }

    private func delta(_ id: WireID, kind: BlobKindOnWire, raw: [UInt8], signature: [UInt8], basis: [WireID]) throws -> BlobPayload? {
        let delta: [UInt8]
        do {
            delta = try Rsync.delta(signature: signature, newData: raw, maxOutput: raw.count + 1024)
        } catch let error where error.code == .limitExceeded {
            return nil
        } catch {
            throw ReplicationError.fail(.corruptData, "delta for \(kind) \(id): \(error)")
        }
        let compressed = delta.withUnsafeBytes { compressor.compress($0) }
        guard let compressed else {
            return BlobPayload(id: id, kind: kind, encoding: .delta, rawLength: UInt32(raw.count), basis: basis, payload: delta)
        }
        var framed = withUnsafeBytes(of: UInt32(delta.count).bigEndian) { Array($0) }
        framed += compressed
        return BlobPayload(id: id, kind: kind, encoding: .zstdDelta, rawLength: UInt32(raw.count), basis: basis, payload: framed)
    }

    private func payload(_ id: WireID, _ kind: BlobKindOnWire, _ location: BlobLocation, raw: [UInt8], stored: [UInt8]) -> BlobPayload {
        let encoding = BlobEncoding(stored: location.compression)
        return BlobPayload(id: id, kind: kind, encoding: encoding, rawLength: UInt32(raw.count),
                           payload: encoding == .raw ? raw : stored)
    }

    /// The blob's location, raw bytes (verified) and payload as stored.
    private func read(_ id: BlobID, kind: BlobKind) throws -> (BlobLocation, [UInt8], [UInt8]) {
        guard let location = try prefetched[id] ?? store.index.location(of: id), location.kind == kind else {
            throw ReplicationError.fail(.corruptData, "asked for \(kind.name) \(id.short), which this node does not hold")
        }
        let record = try store.readRun([location][...])
        let raw = try record.withUnsafeBytes { try store.decode(location, from: $0, using: decompressor) }
        return (location, raw, Array(record[PackFormat.headerLength...]))
    }
}
