import Repository
import Wire

extension BlobID {
    public var wire: WireID { WireID(bytes)! }
    public init(_ wire: WireID) { self = BlobID(bytes: wire.bytes)! }
}

extension BlobEncoding {
    /// How a blob stored as `compression` travels whole: as stored, nothing recompressed.
    init(stored compression: Compression) {
        switch compression {
        case .none: self = .raw
        case .zstd: self = .zstd
        case .lz4: self = .lz4
        }
    }

    /// The codec of a whole compressed payload, to keep it as sent; nil for raw and deltas.
    var storedCompression: Compression? {
        switch self {
        case .zstd: .zstd
        case .lz4: .lz4
        case .raw, .delta, .zstdDelta: nil
        }
    }
}
