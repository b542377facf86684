/// Helpers for etcd's byte-string keys.
public enum EtcdKey {
    /// The range_end that makes a range cover every key starting with `prefix`:
    /// the prefix with its last byte below 0xff incremented and what follows
    /// dropped. A prefix of only 0xff bytes (or none) has no upper bound, which
    /// etcd spells as the single byte 0.
    public static func prefixEnd(_ prefix: [UInt8]) -> [UInt8] {
        var end = prefix
        while let last = end.last {
            if last < 0xff {
                end[end.count - 1] = last + 1
                return end
            }
            end.removeLast()
        }
        return [0]
    }
}
