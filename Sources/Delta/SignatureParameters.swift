import CLibrsync

/// Block and strong-sum lengths of a librsync signature (RabinKarp rollsum + BLAKE2b).
///
/// Longer blocks give a smaller signature and a larger delta; longer strong sums make a
/// wrong match (silent corruption of the patched data) less likely.
public struct SignatureParameters: Sendable, Hashable {
    /// Bytes of basis covered by one signature entry.
    public let blockLength: Int
    /// Bytes of BLAKE2b kept per block.
    public let strongLength: Int

    /// librsync's default block length when the basis size is unknown.
    public static let defaultBlockLength = 2048
    /// The full BLAKE2b length librsync stores (RS_MAX_STRONG_SUM_LENGTH).
    public static let maxStrongLength = 32
    /// Larger blocks are refused in signatures we load: the delta job allocates buffers of
    /// this size, and `rs_sig_args` only reaches it for a 256 TiB basis.
    public static let maxBlockLength = 16 << 20

    /// - Precondition: `1...maxBlockLength` and `1...maxStrongLength`; these come from our
    ///   own configuration, never from a peer, so a bad value is a programming error.
    public init(blockLength: Int = defaultBlockLength, strongLength: Int = maxStrongLength) {
        precondition((1...Self.maxBlockLength).contains(blockLength), "block length \(blockLength)")
        precondition((1...Self.maxStrongLength).contains(strongLength), "strong length \(strongLength)")
        self.blockLength = blockLength
        self.strongLength = strongLength
    }

    /// librsync's recommendation (`rs_sig_args`): block ≈ √size, at least 256, a multiple of
    /// 128. The strong sum is kept at its maximum: a colliding block would corrupt the
    /// patched file without any error, and 32 bytes cost only ~3× the signature size.
    public static func recommended(forBasisSize size: Int) -> SignatureParameters {
        var magic = RS_RK_BLAKE2_SIG_MAGIC
        var blockLength = 0   // 0 asks for the recommended value
        var strongLength = 0  // 0 asks for the maximum
        let result = rs_sig_args(rs_long_t(max(size, 0)), &magic, &blockLength, &strongLength)
        guard result == RS_DONE else {
            return SignatureParameters()
        }
        return SignatureParameters(blockLength: min(blockLength, maxBlockLength),
                                   strongLength: min(strongLength, maxStrongLength))
    }

    /// The exact size of a signature of `basisSize` bytes: a 12-byte header, then per block
    /// a 4-byte rollsum and the strong sum.
    public func signatureSize(forBasisSize basisSize: Int) -> Int {
        let blocks = (basisSize + blockLength - 1) / blockLength
        return 12 + blocks * (4 + strongLength)
    }
}
