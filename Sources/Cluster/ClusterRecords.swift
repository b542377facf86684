import Foundation

/// A value barge stores in etcd: JSON, bounded, checked when read. Bytes from
/// etcd are not trusted more than bytes from a peer.
public protocol ClusterRecord: Codable, Sendable, Equatable {
    /// Refuses a decoded value whose fields are out of range.
    func validate() throws(ClusterRecordError)
}

public struct ClusterRecordError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ClusterRecord {
    public static var maxBytes: Int { 4096 }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding plain structs of strings and integers cannot fail.
        return Array(try! encoder.encode(self))
    }

    public static func decode(_ bytes: [UInt8]) throws(ClusterRecordError) -> Self {
        guard bytes.count <= maxBytes else { throw ClusterRecordError("a \(Self.self) of \(bytes.count) bytes is over the \(maxBytes)-byte bound") }
        let value: Self
        do { value = try JSONDecoder().decode(Self.self, from: Data(bytes)) } catch {
            throw ClusterRecordError("a \(Self.self) does not decode: \(error)")
        }
        try value.validate()
        return value
    }

    func requireName(_ name: String, _ field: String) throws(ClusterRecordError) {
        guard ClusterKeys.isName(name) else { throw ClusterRecordError("\(Self.self).\(field) \"\(name.prefix(80))\" is not a node name") }
    }
}

/// `nodes/NODE`: the node is alive while its lease is.
public struct NodeRecord: ClusterRecord {
    public var node: String
    /// Its peer address, for `barge cluster status`.
    public var address: String
    public var startedNanoseconds: Int64

    public init(node: String, address: String, startedNanoseconds: Int64) {
        self.node = node
        self.address = address
        self.startedNanoseconds = startedNanoseconds
    }

    public func validate() throws(ClusterRecordError) {
        try requireName(node, "node")
        guard address.utf8.count <= 300 else { throw ClusterRecordError("NodeRecord.address is too long") }
    }

    enum CodingKeys: String, CodingKey { case node, address, startedNanoseconds = "started_ns" }
}

/// `owners/VOLUME`: who may run the volume's container. The fencing token is
/// the key's mod_revision, which etcd alone assigns and which only grows.
public struct OwnerValue: ClusterRecord {
    public var owner: String
    public init(owner: String) { self.owner = owner }
    public func validate() throws(ClusterRecordError) { try requireName(owner, "owner") }

    /// Epochs from etcd sit above 2^32, so they exceed every epoch that manual
    /// moves (one step each) gave a volume before `[cluster]` was set.
    public static let tokenBase: UInt64 = 1 << 32

    /// The fencing token of an owner record with this mod_revision.
    public static func token(modRevision: Int64) -> UInt64 { tokenBase + UInt64(max(0, modRevision)) }

    /// The mod_revision a token stands for (nil for an epoch that etcd did not issue).
    public static func modRevision(token: UInt64) -> Int64? { token > tokenBase ? Int64(token - tokenBase) : nil }
}

/// `held/VOLUME/NODE`: the snapshot NODE can bring the volume up at (a
/// replica's complete standby copy, the owner's newest snapshot). Elections
/// rank candidates by it.
public struct HeldSnapshot: ClusterRecord {
    public var node: String
    /// Hex id of the snapshot.
    public var snapshot: String
    /// The epoch (token) it was taken at, and the owner's time of taking it.
    public var epoch: UInt64
    public var timeNanoseconds: Int64
    /// The node holds the live data (it owned the volume): at the same
    /// snapshot it has what no replica has, the writes since.
    public var live: Bool

    public init(node: String, snapshot: String, epoch: UInt64, timeNanoseconds: Int64, live: Bool = false) {
        self.node = node
        self.snapshot = snapshot
        self.epoch = epoch
        self.timeNanoseconds = timeNanoseconds
        self.live = live
    }

    public func validate() throws(ClusterRecordError) {
        try requireName(node, "node")
        guard snapshot.utf8.count == 64, snapshot.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw ClusterRecordError("HeldSnapshot.snapshot is not a 64-digit hex id")
        }
    }

    /// Newer: a higher epoch, then a later time, then the live data; ties go
    /// to the lower node name so every member computes the same winner.
    public func isBetter(than other: HeldSnapshot) -> Bool {
        (epoch, timeNanoseconds, live ? 1 : 0, other.node) > (other.epoch, other.timeNanoseconds, other.live ? 1 : 0, node)
    }

    enum CodingKeys: String, CodingKey { case node, snapshot, epoch, live, timeNanoseconds = "time_ns" }
}

/// `events/VOLUME/TOKEN`: a takeover, for operators and `cluster status`.
public struct ClusterEvent: ClusterRecord {
    public var volume: String
    public var kind: String
    public var owner: String
    public var previousOwner: String
    public var token: UInt64
    public var snapshot: String
    /// How old the snapshot was when the volume came up: the writes after it are not here.
    public var dataLossSeconds: Double
    public var atNanoseconds: Int64

    public init(volume: String, kind: String, owner: String, previousOwner: String, token: UInt64, snapshot: String,
                dataLossSeconds: Double, atNanoseconds: Int64) {
        self.volume = volume
        self.kind = kind
        self.owner = owner
        self.previousOwner = previousOwner
        self.token = token
        self.snapshot = snapshot
        self.dataLossSeconds = dataLossSeconds
        self.atNanoseconds = atNanoseconds
    }

    public func validate() throws(ClusterRecordError) {
        try requireName(owner, "owner")
        guard ClusterKeys.isName(volume), kind.utf8.count <= 32, snapshot.utf8.count <= 64, dataLossSeconds.isFinite else {
            throw ClusterRecordError("a ClusterEvent has fields out of range")
        }
    }

    enum CodingKeys: String, CodingKey {
        case volume, kind, owner, token, snapshot
        case previousOwner = "previous_owner", dataLossSeconds = "data_loss_s", atNanoseconds = "at_ns"
    }
}
