// The values etcd answers with, as plain Swift types. The gateway's JSON shapes
// stay in GatewayMessages.swift.

/// Which cluster and member answered, at which revision and raft term.
public struct EtcdHeader: Sendable, Equatable {
    public var clusterID: UInt64
    public var memberID: UInt64
    public var revision: Int64
    public var raftTerm: UInt64

    public init(clusterID: UInt64, memberID: UInt64, revision: Int64, raftTerm: UInt64) {
        self.clusterID = clusterID
        self.memberID = memberID
        self.revision = revision
        self.raftTerm = raftTerm
    }
}

/// One key with its value and revisions. A deleted key (in a watch event)
/// carries only `key` and `modRevision`.
public struct EtcdKeyValue: Sendable, Equatable {
    public var key: [UInt8]
    public var value: [UInt8]
    public var createRevision: Int64
    public var modRevision: Int64
    public var version: Int64
    public var lease: Int64

    public init(key: [UInt8], value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

/// A granted lease and its TTL in seconds.
public struct EtcdLease: Sendable, Equatable {
    public var id: Int64
    public var ttl: Int64

    public init(id: Int64, ttl: Int64) {
        self.id = id
        self.ttl = ttl
    }
}

/// A cluster member and the URLs its clients use.
public struct EtcdMember: Sendable, Equatable {
    public var id: UInt64
    public var name: String
    public var clientURLs: [String]

    public init(id: UInt64, name: String, clientURLs: [String]) {
        self.id = id
        self.name = name
        self.clientURLs = clientURLs
    }
}

/// One change seen by a watch. A delete carries the key and its modRevision (the deleting revision).
public enum EtcdWatchEvent: Sendable, Equatable {
    case put(EtcdKeyValue)
    case delete(EtcdKeyValue)

    public var keyValue: EtcdKeyValue {
        switch self {
        case let .put(kv), let .delete(kv): kv
        }
    }
}

/// The events of one watch response, in revision order.
public struct EtcdWatchBatch: Sendable {
    public var header: EtcdHeader
    public var events: [EtcdWatchEvent]

    public init(header: EtcdHeader, events: [EtcdWatchEvent]) {
        self.header = header
        self.events = events
    }
}
