import Delta
import Repository
import Wire

/// The receiver's side of a blob: nothing the sender says is trusted. Every
/// payload is decoded within its stated bounds and re-hashed before it is kept.
final class BlobDecoder {
    private let store: Store
    /// For blobs rebuilt from deltas, which are stored compressed with the store's codec.
    private let compressor: Compressor
    private let decompressor = Decompressor()

    init(store: Store) {
        self.store = store
        compressor = Compressor(codec: store.compression)
    }

    struct Verified {
        let id: BlobID
        let raw: [UInt8]
        /// The form to store: the sender's compressed payload when it sent one, so nothing is recompressed.
        let compression: Compression
        let stored: [UInt8]
    }

    func verify(_ blob: BlobPayload, kind: BlobKind, expectedLength: Int?) throws -> Verified {
        let id = BlobID(blob.id)
        let rawLength = Int(blob.rawLength)
        if let expectedLength, rawLength != expectedLength {
            throw ReplicationError.fail(.corruptData, "\(kind.name) \(id.short): \(rawLength) bytes, its tree says \(expectedLength)")
        }
        guard rawLength <= kind.rawLimit else {
            throw ReplicationError.fail(.limitExceeded, "\(kind.name) \(id.short) of \(rawLength) bytes exceeds \(kind.rawLimit)")
        }
        let raw: [UInt8]
        var compression = Compression.none
        var stored: [UInt8]? = nil
        switch blob.encoding {
        case .raw:
            raw = blob.payload
        case .zstd, .lz4:
            compression = blob.encoding.storedCompression ?? .none
            guard blob.payload.count <= compression.maximumStoredLength(rawLength: rawLength) else {
                throw ReplicationError.fail(.limitExceeded, "\(kind.name) \(id.short): \(blob.payload.count) bytes cannot hold \(rawLength) compressed")
            }
            raw = try decompress(blob.payload, compression, rawLength: rawLength, what: "\(kind.name) \(id.short)")
            stored = blob.payload
        case .delta, .zstdDelta:
            raw = try patch(blob, kind: kind, rawLength: rawLength)
        }
        guard raw.count == rawLength, BlobID.of(kind, raw) == id else {
            throw ReplicationError.fail(.corruptData, "\(kind.name) \(id.short) fails its SHA-256 check after decoding")
        }
        if stored == nil, blob.encoding.isDelta, let packed = raw.withUnsafeBytes({ compressor.compress($0) }) {
            compression = compressor.codec
            stored = packed
        }
        return Verified(id: id, raw: raw, compression: compression, stored: stored ?? raw)
    }

    /// The bytes the named basis blobs (chunks, or one tree) hold, concatenated.
    func basis(_ ids: [WireID], kind: BlobKind = .chunk) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            guard let location = try store.index.location(of: BlobID(id)), location.kind == kind else {
                throw ReplicationError.fail(.corruptData, "basis \(kind.name) \(id) is not on this node")
            }
            bytes += try store.read(location, using: decompressor)
        }
        return bytes
    }

    private func patch(_ blob: BlobPayload, kind: BlobKind, rawLength: Int) throws -> [UInt8] {
        var delta = blob.payload
        if blob.encoding == .zstdDelta {
            guard delta.count >= 4 else { throw ReplicationError.fail(.malformed, "\(kind.name) \(blob.id): delta header missing") }
            let length = delta.prefix(4).reduce(0) { $0 << 8 | Int($1) }
            // A delta is never much larger than the chunk it rebuilds.
            guard length <= rawLength + 4096 + rawLength / 8 else {
                throw ReplicationError.fail(.limitExceeded, "chunk \(blob.id): delta of \(length) bytes for \(rawLength) bytes of data")
            }
            delta = try decompress(Array(delta[4...]), .zstd, rawLength: length, what: "delta of chunk \(blob.id)")
        }
        let basis = try basis(blob.basis, kind: kind)
        do {
            return try Rsync.patch(basis: basis, delta: delta, maxOutput: rawLength)
        } catch {
            throw ReplicationError.fail(.corruptData, "chunk \(blob.id): the delta does not apply: \(error)")
        }
    }

    private func decompress(_ payload: [UInt8], _ compression: Compression, rawLength: Int, what: String) throws -> [UInt8] {
        do {
            return try payload.withUnsafeBytes { try decompressor.decompress($0, compression: compression, rawLength: rawLength) }
        } catch {
            throw ReplicationError.fail(.corruptData, "\(what) does not decompress to \(rawLength) bytes: \(error)")
        }
    }
}
