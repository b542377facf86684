/// The gear table: 256 pseudo-random 64-bit values. It is derived from a fixed
/// SplitMix64 seed rather than typed in, so any implementation can rebuild it
/// (`testdata/chunking/fastcdc_reference.py` does) and cut points stay portable.
enum Gear {
    static let seed: UInt64 = 0x6261_7267_6520_4344 // "barge CD"

    static let table: [UInt64] = {
        var generator = SplitMix64(seed: seed)
        return (0..<256).map { _ in generator.next() }
    }()
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, well mixed and trivially portable.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
