import CLZ4
import CZstd

/// How a blob's bytes are stored in a pack. A store writes new blobs with the codec
/// it was created with (`Store.compression`) and reads all three.
public enum Compression: UInt8, Sendable, CaseIterable {
    case none = 0
    case zstd = 1
    case lz4 = 2

    /// The name `barge init --compression` takes and status shows.
    public var name: String {
        switch self {
        case .none: "none"
        case .zstd: "zstd"
        case .lz4: "lz4"
        }
    }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// The most bytes `rawLength` bytes can take when stored this way; a longer stored length is corruption.
    public func maximumStoredLength(rawLength: Int) -> Int {
        switch self {
        case .none: rawLength
        case .zstd: ZSTD_compressBound(rawLength)
        case .lz4: Int(LZ4_compressBound(Int32(clamping: rawLength)))
        }
    }
}

/// One compression context of one codec (zstd or lz4). Not thread-safe: each worker owns its own.
public final class Compressor {
    public let codec: Compression
    private let context: OpaquePointer?
    private var lz4State: [UInt8] = []

    /// At the fast levels, a 2 KiB-entry match table instead of zstd's 8 KiB
    /// for inputs this small: it stays in L1/L2, which made level 1 about 20%
    /// faster on the benchmark's SQLite pages for 0.1% more bytes (barge
    /// compresses each chunk, 16-256 KiB, on its own).
    static let fastHashLog: Int32 = 11

    /// `level` applies to zstd; lz4 runs at its default speed (acceleration 1).
    public init(codec: Compression = .zstd, level: Int32 = 1) {
        precondition(codec != .none, "a compressor needs a codec")
        self.codec = codec
        if codec == .zstd {
            context = ZSTD_createCCtx()
            ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
            if level <= 1 { ZSTD_CCtx_setParameter(context, ZSTD_c_hashLog, Self.fastHashLog) }
        } else {
            context = nil
            lz4State = [UInt8](repeating: 0, count: Int(LZ4_sizeofState()))
        }
    }

    deinit { if let context { ZSTD_freeCCtx(context) } }

    /// The compressed bytes, or nil when compression would not make them smaller
    /// (the caller then stores them raw). Compressed straight into the result, whose
    /// capacity stays the codec's bound: the copy to the exact size was 1.7% of the CPU samples
    /// of a warm real-files snapshot (perf); no wall-time gain showed beyond the noise.
    public func compress(_ source: UnsafeRawBufferPointer) -> [UInt8]? {
        let bound = codec.maximumStoredLength(rawLength: source.count)
        var written = 0
        let output = [UInt8](unsafeUninitializedCapacity: bound) { destination, initialized in
            switch codec {
            case .zstd:
                let result = ZSTD_compress2(context, destination.baseAddress, bound, source.baseAddress, source.count)
                written = ZSTD_isError(result) == 0 ? result : 0
            default:
                written = lz4State.withUnsafeMutableBytes { state in
                    Int(LZ4_compress_fast_extState(state.baseAddress, source.baseAddress, destination.baseAddress,
                                                   Int32(source.count), Int32(bound), 1))
                }
            }
            initialized = written > 0 && written < source.count ? written : 0
        }
        guard written > 0, written < source.count else { return nil }
        return output
    }
}

/// Decompression for every codec (one zstd context). Not thread-safe: each worker owns its own.
public final class Decompressor {
    private let context: OpaquePointer

    public init() { context = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(context) }

    /// Decodes exactly `rawLength` bytes stored as `compression`; anything else is corruption.
    /// lz4's safe decoder never reads or writes outside the buffers, whatever the input.
    public func decompress(_ source: UnsafeRawBufferPointer, compression: Compression, rawLength: Int) throws -> [UInt8] {
        switch compression {
        case .none:
            guard source.count == rawLength else {
                throw RepositoryError(.corrupt, "\(source.count) raw bytes, the header says \(rawLength)")
            }
            return Array(source)
        case .zstd:
            var produced = 0
            // Uninitialized: zstd writes every byte, and a short result is thrown away below.
            let output = [UInt8](unsafeUninitializedCapacity: rawLength) { destination, initialized in
                produced = ZSTD_decompressDCtx(context, destination.baseAddress, rawLength, source.baseAddress, source.count)
                initialized = ZSTD_isError(produced) == 0 && produced == rawLength ? rawLength : 0
            }
            if ZSTD_isError(produced) != 0 {
                throw RepositoryError(.corrupt, "zstd: \(String(cString: ZSTD_getErrorName(produced)))")
            }
            guard produced == rawLength else {
                throw RepositoryError(.corrupt, "zstd produced \(produced) bytes, the header says \(rawLength)")
            }
            return output
        case .lz4:
            guard source.count <= Int(Int32.max), rawLength <= Int(Int32.max) else {
                throw RepositoryError(.corrupt, "lz4: \(source.count) bytes for \(rawLength) is out of range")
            }
            // Zeroed, not uninitialized: lz4 1.9.4 accepts a match offset of 0 (invalid in the
            // format) and copies the output onto itself; the bytes it leaves must not be stale heap.
            var output = [UInt8](repeating: 0, count: rawLength)
            let produced = output.withUnsafeMutableBytes { destination in
                LZ4_decompress_safe(source.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    destination.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    Int32(source.count), Int32(rawLength))
            }
            guard Int(produced) == rawLength else {
                throw RepositoryError(.corrupt, produced < 0 ? "lz4: malformed input"
                                      : "lz4 produced \(produced) bytes, the header says \(rawLength)")
            }
            return output
        }
    }
}
