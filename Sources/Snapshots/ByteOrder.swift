import Glibc

/// Byte-wise ordering of names, the order trees keep. memcmp instead of the
/// generic `lexicographicallyPrecedes`, which costs a walk through iterators
/// per comparison and shows up on every directory of a large volume.
enum ByteOrder {
    static func compare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        let common = min(a.count, b.count)
        let result = a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in common == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, common) }
        }
        if result != 0 { return Int(result) }
        return a.count - b.count
    }

    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool { compare(a, b) < 0 }
}
