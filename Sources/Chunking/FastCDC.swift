/// FastCDC content-defined chunking (Xia et al., 2016/2020) with normalized
/// chunking at level 2: a stricter mask before the average size and a looser
/// one after it, which narrows the spread of chunk sizes.
///
/// Cut points depend only on the bytes and the parameters, so every machine
/// cuts the same data the same way; `testdata/chunking/vectors.json` pins them.
public struct FastCDC: Sendable {
    public let parameters: ChunkerParameters
    private let maskSmall: UInt64
    private let maskLarge: UInt64

    public init(_ parameters: ChunkerParameters = .default) {
        self.parameters = parameters
        // The high bits of the gear hash depend on the last 64 bytes: test those.
        let bits = parameters.averageBits
        self.maskSmall = Self.highMask(bits: bits + 2)
        self.maskLarge = Self.highMask(bits: bits - 2)
    }

    private static func highMask(bits: Int) -> UInt64 {
        ((1 << UInt64(bits)) - 1) << UInt64(64 - bits)
    }

    /// The length of the chunk that starts at the beginning of `data`.
    ///
    /// When `data` holds fewer than `maximum` bytes and more input follows, the
    /// answer may change once more bytes arrive: callers pass at least
    /// `maximum` bytes unless they are at the end of the stream.
    public func cutPoint(_ data: UnsafeRawBufferPointer) -> Int {
        let count = data.count
        if count <= parameters.minimum { return count }
        guard let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let end = min(count, parameters.maximum)
        let normal = min(end, parameters.average)
        return Gear.table.withUnsafeBufferPointer { gear in
            var fingerprint: UInt64 = 0
            var index = parameters.minimum
            while index < normal {
                fingerprint = (fingerprint &<< 1) &+ gear[Int(base[index])]
                index += 1
                if fingerprint & maskSmall == 0 { return index }
            }
            while index < end {
                fingerprint = (fingerprint &<< 1) &+ gear[Int(base[index])]
                index += 1
                if fingerprint & maskLarge == 0 { return index }
            }
            return end
        }
    }

    /// All chunk lengths of a complete buffer (the last chunk may be short).
    public func chunkLengths(of bytes: [UInt8]) -> [Int] {
        bytes.withUnsafeBytes { raw in
            var lengths: [Int] = []
            var offset = 0
            while offset < raw.count {
                let length = cutPoint(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                lengths.append(length)
                offset += length
            }
            return lengths
        }
    }
}
