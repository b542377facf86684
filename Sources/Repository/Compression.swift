import CZstd

/// How a blob's bytes are stored in a pack.
public enum Compression: UInt8, Sendable {
    case none = 0
    case zstd = 1
}

/// One zstd compression context. Not thread-safe: each worker owns its own.
public final class Compressor {
    private let context: OpaquePointer
    private var scratch: [UInt8] = []

    /// At the fast levels, a 2 KiB-entry match table instead of zstd's 8 KiB
    /// for inputs this small: it stays in L1/L2, which made level 1 about 20%
    /// faster on the benchmark's SQLite pages for 0.1% more bytes (barge
    /// compresses each chunk, 16-256 KiB, on its own).
    static let fastHashLog: Int32 = 11

    public init(level: Int32 = 1) {
        context = ZSTD_createCCtx()
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        if level <= 1 { ZSTD_CCtx_setParameter(context, ZSTD_c_hashLog, Self.fastHashLog) }
    }

    deinit { ZSTD_freeCCtx(context) }

    /// The compressed bytes, or nil when compression would not make them smaller
    /// (the caller then stores them raw).
    public func compress(_ source: UnsafeRawBufferPointer) -> [UInt8]? {
        let bound = ZSTD_compressBound(source.count)
        if scratch.count < bound { scratch = [UInt8](repeating: 0, count: bound) }
        let written = scratch.withUnsafeMutableBytes { destination in
            ZSTD_compress2(context, destination.baseAddress, destination.count, source.baseAddress, source.count)
        }
        guard ZSTD_isError(written) == 0, written < source.count else { return nil }
        return Array(scratch[0..<written])
    }
}

/// One zstd decompression context. Not thread-safe: each worker owns its own.
public final class Decompressor {
    private let context: OpaquePointer

    public init() { context = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses exactly `rawLength` bytes; anything else is corruption.
    public func decompress(_ source: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
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
    }

    public static func maximumCompressedLength(rawLength: Int) -> Int { ZSTD_compressBound(rawLength) }
}
