@_exported import Chunking

// Seeded test data shared by every test target: the same bytes on every run
// and machine, so a failure reproduces.

extension SplitMix64 {
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Incompressible bytes: the generator's outputs, little-endian, truncated
    /// to `count` (the layout testdata/chunking/fastcdc_reference.py uses).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
            var offset = 0
            while offset < count {
                var word = next().littleEndian
                withUnsafeBytes(of: &word) { wordBytes in
                    for byte in wordBytes.prefix(count - offset) { raw[offset] = byte; offset += 1 }
                }
            }
            initialized = count
        }
    }

    /// Compressible text: words from a small vocabulary.
    public mutating func text(_ count: Int) -> [UInt8] {
        let words = ["barge ", "chunk ", "pack ", "tree ", "index ", "volume ", "snapshot ", "restore ", "42 ", "ok\n"].map { Array($0.utf8) }
        var out = [UInt8]()
        out.reserveCapacity(count + 16)
        while out.count < count { out += words[below(words.count)] }
        return Array(out.prefix(count))
    }
}

/// `count` incompressible bytes from `seed`.
public func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var generator = SplitMix64(seed: seed)
    return generator.bytes(count)
}
