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
            if let cut = Self.scan(base, gear, &fingerprint, &index, to: normal, mask: maskSmall) { return cut }
            if let cut = Self.scan(base, gear, &fingerprint, &index, to: end, mask: maskLarge) { return cut }
            return end
        }
    }

    /// Rolls the gear hash over base[index..<limit]; returns the position just
    /// after the first byte where `fingerprint & mask == 0`. Four bytes a step:
    /// the four fingerprints are computed from the one before the step, so the
    /// dependency chain is one shift and one add per step instead of per byte.
    /// The result is exactly the byte-at-a-time rolling's (vectors pin it).
    @inline(__always)
    private static func scan(_ base: UnsafePointer<UInt8>, _ gear: UnsafeBufferPointer<UInt64>,
                             _ fingerprint: inout UInt64, _ index: inout Int, to limit: Int, mask: UInt64) -> Int? {
        var hash = fingerprint, position = index
        defer { fingerprint = hash; index = position }
        while position + 4 <= limit {
            let g0 = gear[Int(base[position])], g1 = gear[Int(base[position + 1])]
            let g2 = gear[Int(base[position + 2])], g3 = gear[Int(base[position + 3])]
            let f1 = (hash &<< 1) &+ g0
            let f2 = (hash &<< 2) &+ ((g0 &<< 1) &+ g1)
            let f3 = (hash &<< 3) &+ ((g0 &<< 2) &+ (g1 &<< 1) &+ g2)
            let f4 = (hash &<< 4) &+ ((g0 &<< 3) &+ (g1 &<< 2) &+ (g2 &<< 1) &+ g3)
            if (f1 & mask) == 0 || (f2 & mask) == 0 || (f3 & mask) == 0 || (f4 & mask) == 0 {
                if f1 & mask == 0 { hash = f1; position += 1 } else if f2 & mask == 0 { hash = f2; position += 2 } else if f3 & mask == 0 {
                    hash = f3; position += 3
                } else { hash = f4; position += 4 }
                return position
            }
            hash = f4
            position += 4
        }
        while position < limit {
            hash = (hash &<< 1) &+ gear[Int(base[position])]
            position += 1
            if hash & mask == 0 { return position }
        }
        return nil
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
