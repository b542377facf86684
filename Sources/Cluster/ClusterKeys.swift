/// Where barge keeps its records in etcd, under the configured prefix:
///
///     PREFIX nodes/NODE            NodeRecord, bound to the node's lease (liveness)
///     PREFIX owners/VOLUME         OwnerValue, bound to the owner's lease; its
///                                  mod_revision is the volume's fencing token
///     PREFIX held/VOLUME/NODE      HeldSnapshot: what NODE could come up with, bound to its lease
///     PREFIX events/VOLUME/TOKEN   ClusterEvent: who took the volume over at TOKEN, and at which snapshot
///
/// Names are checked by the config (a-z, 0-9, '.', '-'), so no key can
/// contain a `/` of its own; parsing still refuses anything else.
public struct ClusterKeys: Sendable, Hashable {
    public let prefix: String

    public init(prefix: String) { self.prefix = prefix }

    public var nodes: [UInt8] { Array((prefix + "nodes/").utf8) }
    public var owners: [UInt8] { Array((prefix + "owners/").utf8) }
    public func node(_ name: String) -> [UInt8] { Array((prefix + "nodes/" + name).utf8) }
    public func owner(_ volume: String) -> [UInt8] { Array((prefix + "owners/" + volume).utf8) }
    public func held(_ volume: String) -> [UInt8] { Array((prefix + "held/" + volume + "/").utf8) }
    public func held(_ volume: String, by node: String) -> [UInt8] { Array((prefix + "held/" + volume + "/" + node).utf8) }
    public func events(_ volume: String) -> [UInt8] { Array((prefix + "events/" + volume + "/").utf8) }
    /// Zero-padded so the keys sort by token.
    public func event(_ volume: String, token: UInt64) -> [UInt8] {
        let digits = String(token)
        return Array((prefix + "events/" + volume + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits).utf8)
    }

    /// The last component of `key` below `parent` (a prefix ending in `/`), if it is one name.
    public func name(in key: [UInt8], below parent: [UInt8]) -> String? {
        guard key.count > parent.count, key.starts(with: parent) else { return nil }
        let rest = key[parent.count...]
        guard !rest.contains(UInt8(ascii: "/")), let name = String(validating: rest, as: UTF8.self),
              Self.isName(name) else { return nil }
        return name
    }

    /// The names barge's config accepts: 1-63 of a-z, 0-9, '.', '-', starting with a letter or digit.
    public static func isName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        let lowerOrDigit: (UInt8) -> Bool = { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
        return lowerOrDigit(bytes[0]) && bytes.allSatisfy { lowerOrDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}
