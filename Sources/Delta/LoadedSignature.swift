import CLibrsync

/// A signature parsed and indexed once (`rs_loadsig_begin` + `rs_build_hash_table`), so
/// many deltas can be computed against the same basis without reloading it.
///
/// Not `Sendable`: librsync updates match counters inside the signature during every
/// delta, so one instance must not be used by two threads at once. Load one per task.
public final class LoadedSignature {
    private let signature: OpaquePointer
    /// The format parameters read from the header.
    public let parameters: SignatureParameters
    /// How many basis blocks the signature describes.
    public let blockCount: Int

    /// Accepted formats: RabinKarp or rsync rollsum, both with BLAKE2b. MD4 is broken.
    private static let acceptedMagics: Set<UInt32> = [
        RS_RK_BLAKE2_SIG_MAGIC.rawValue, RS_BLAKE2_SIG_MAGIC.rawValue,
    ]

    /// Parses `bytes`, which may come from a peer: the header is checked here first, so
    /// librsync only ever sees lengths it handles safely.
    public convenience init(_ bytes: [UInt8]) throws(DeltaError) {
        let loaded = try Self.load(bytes)
        self.init(signature: loaded.signature, parameters: loaded.parameters,
                  blockCount: loaded.blockCount)
    }

    private init(signature: OpaquePointer, parameters: SignatureParameters, blockCount: Int) {
        self.signature = signature
        self.parameters = parameters
        self.blockCount = blockCount
    }

    deinit { rs_free_sumset(signature) }

    /// The delta that turns the basis into `newData`; throws `limitExceeded` if it would
    /// be longer than `maxOutput` bytes.
    public func delta(newData: UnsafeRawBufferPointer, maxOutput: Int) throws(DeltaError) -> [UInt8] {
        let job = try RsyncJob(.delta) { rs_delta_begin(signature) }
        var out: [UInt8] = []
        _ = try job.run(input: newData, into: &out, limit: maxOutput)
        return out
    }

    public func delta(newData: [UInt8], maxOutput: Int) throws(DeltaError) -> [UInt8] {
        try newData.withBytes { (raw) throws(DeltaError) in
            try delta(newData: raw, maxOutput: maxOutput)
        }
    }

    private static func load(
        _ bytes: [UInt8]
    ) throws(DeltaError) -> (signature: OpaquePointer, parameters: SignatureParameters, blockCount: Int) {
        let (parameters, blockCount) = try checkHeader(bytes)
        var signature: OpaquePointer?
        let job = try RsyncJob(.loadSignature) { rs_loadsig_begin(&signature) }
        guard let signature else {
            throw DeltaError(.internal, "rs_loadsig_begin returned no signature")
        }
        do throws(DeltaError) {
            var none: [UInt8] = []
            _ = try bytes.withBytes { (raw) throws(DeltaError) in
                try job.run(input: raw, into: &none, limit: 0)
            }
            let result = rs_build_hash_table(signature)
            guard result == RS_DONE else {
                throw DeltaError(.internal, "rs_build_hash_table failed", cause: .init(result))
            }
        } catch {
            rs_free_sumset(signature)
            throw error
        }
        return (signature, parameters, blockCount)
    }

    /// Header: magic, block length, strong length (big-endian UInt32 each), then
    /// `blockCount` entries of a 4-byte rollsum and `strongLength` bytes.
    private static func checkHeader(
        _ bytes: [UInt8]
    ) throws(DeltaError) -> (SignatureParameters, Int) {
        guard bytes.count >= 12 else {
            throw DeltaError(.badSignature, "signature is \(bytes.count) bytes, shorter than its header")
        }
        func word(_ at: Int) -> UInt32 {
            bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }
        let magic = word(0), blockLength = Int(word(4)), strongLength = Int(word(8))
        guard acceptedMagics.contains(magic) else {
            throw DeltaError(.badSignature, "unsupported signature magic 0x\(String(magic, radix: 16))")
        }
        guard (1...SignatureParameters.maxBlockLength).contains(blockLength) else {
            throw DeltaError(.badSignature, "signature block length \(blockLength) out of range")
        }
        guard (1...SignatureParameters.maxStrongLength).contains(strongLength) else {
            throw DeltaError(.badSignature, "signature strong length \(strongLength) out of range")
        }
        let body = bytes.count - 12, entry = 4 + strongLength
        guard body % entry == 0 else {
            throw DeltaError(.badSignature,
                             "signature body of \(body) bytes is not whole \(entry)-byte entries")
        }
        return (SignatureParameters(blockLength: blockLength, strongLength: strongLength), body / entry)
    }
}
