import CLibrsync

/// librsync's signature / delta / patch over in-memory buffers.
///
/// All functions are pure: no I/O, no shared state, safe to call from any thread. They are
/// CPU-bound (tens to hundreds of MB/s), so async callers should run them off event loops.
/// Signatures and deltas may come from peers: parsing them is bounded and throws
/// `DeltaError` on anything malformed.
public enum Rsync {
    /// The linked librsync's version, e.g. "2.3.2" (librsync itself says "librsync 2.3.2").
    public static var librsyncVersion: String {
        let full = String(cString: barge_librsync_version())
        return full.hasPrefix("librsync ") ? String(full.dropFirst("librsync ".count)) : full
    }

    /// The signature of `basis` in the RabinKarp + BLAKE2b format.
    public static func signature(
        of basis: UnsafeRawBufferPointer,
        parameters: SignatureParameters
    ) throws(DeltaError) -> [UInt8] {
        let job = try RsyncJob(.signature) {
            rs_sig_begin(parameters.blockLength, parameters.strongLength, RS_RK_BLAKE2_SIG_MAGIC)
        }
        let size = parameters.signatureSize(forBasisSize: basis.count)
        var out: [UInt8] = []
        _ = try job.run(input: basis, into: &out, limit: size, expectedOutput: size)
        return out
    }

    /// The signature of `basis`; `parameters` default to `rs_sig_args`'s recommendation.
    public static func signature(
        of basis: [UInt8],
        parameters: SignatureParameters? = nil
    ) throws(DeltaError) -> [UInt8] {
        try basis.withBytes { (raw) throws(DeltaError) in
            try signature(of: raw, parameters: parameters ?? .recommended(forBasisSize: raw.count))
        }
    }

    /// The delta from the basis described by `signature` to `newData`. Loads the signature
    /// each time; use `LoadedSignature` to compute several deltas against one basis.
    public static func delta(
        signature: [UInt8],
        newData: [UInt8],
        maxOutput: Int
    ) throws(DeltaError) -> [UInt8] {
        try LoadedSignature(signature).delta(newData: newData, maxOutput: maxOutput)
    }

    /// Applies `delta` to `basis` and returns the new data.
    ///
    /// The delta is untrusted: copies must lie inside `basis` (else `basisTooShort`), the
    /// result may not exceed `maxOutput` bytes (else `limitExceeded`), and a malformed,
    /// truncated or over-long delta throws `badDelta`.
    public static func patch(
        basis: UnsafeRawBufferPointer,
        delta: UnsafeRawBufferPointer,
        maxOutput: Int
    ) throws(DeltaError) -> [UInt8] {
        var source = PatchSource(basis: basis)
        return try withUnsafeMutablePointer(to: &source) { (source) throws(DeltaError) in
            let job = try RsyncJob(.patch) {
                rs_patch_begin({ opaque, position, length, buffer in
                    guard let opaque, let length, let buffer else { return RS_PARAM_ERROR }
                    return opaque.assumingMemoryBound(to: PatchSource.self)
                        .pointee.copy(at: position, length: length, into: buffer)
                }, source)
            }
            var out: [UInt8] = []
            let unread: Int
            do throws(DeltaError) {
                unread = try job.run(input: delta, into: &out, limit: maxOutput)
            } catch where source.pointee.refused != nil {
                let (position, length) = source.pointee.refused!
                throw DeltaError(.basisTooShort,
                                 "delta copies \(length) bytes at \(position) from a "
                                     + "\(basis.count)-byte basis", cause: error.cause)
            }
            guard unread == 0 else {
                throw DeltaError(.badDelta, "\(unread) bytes after the end of the delta")
            }
            return out
        }
    }

    public static func patch(basis: [UInt8], delta: [UInt8], maxOutput: Int) throws(DeltaError) -> [UInt8] {
        try basis.withBytes { (basis) throws(DeltaError) in
            try delta.withBytes { (delta) throws(DeltaError) in
                try patch(basis: basis, delta: delta, maxOutput: maxOutput)
            }
        }
    }
}

/// The basis as seen by librsync's copy callback during one patch.
private struct PatchSource {
    let basis: UnsafeRawBufferPointer
    /// The first read we refused, for the error message.
    var refused: (position: Int, length: Int)?

    /// Copies up to `length` bytes at `position` into librsync's output buffer.
    ///
    /// A read that starts at or past the end is refused with RS_INPUT_ENDED: returning
    /// RS_DONE with zero bytes would make librsync retry the same copy forever.
    mutating func copy(
        at position: rs_long_t,
        length: UnsafeMutablePointer<Int>,
        into buffer: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> rs_result {
        let wanted = length.pointee
        guard wanted > 0, let target = buffer.pointee else { return RS_PARAM_ERROR }
        guard position >= 0, position < basis.count, let base = basis.baseAddress else {
            if refused == nil { refused = (position, wanted) }
            return RS_INPUT_ENDED
        }
        let count = min(wanted, basis.count - Int(position))
        target.copyMemory(from: base + Int(position), byteCount: count)
        length.pointee = count
        return RS_DONE
    }
}

extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the closure's typed error (the stdlib one is `rethrows`).
    func withBytes<R>(
        _ body: (UnsafeRawBufferPointer) throws(DeltaError) -> R
    ) throws(DeltaError) -> R {
        try withUnsafeBytes { raw in
            Result { () throws(DeltaError) in try body(raw) }
        }.get()
    }
}
