/// `barge cluster status`: what etcd holds for this barge cluster, as one agent reads it.
public struct ClusterReport: Codable, Sendable {
    public struct Member: Codable, Sendable {
        public var node: String
        public var address: String
        public var lease: String
        public init(node: String, address: String, lease: String) {
            self.node = node
            self.address = address
            self.lease = lease
        }
    }

    public struct Owner: Codable, Sendable {
        public var volume: String
        /// nil: no owner record (an election is due, or the cluster is new).
        public var owner: String?
        public var token: UInt64?
        public var lease: String?
        /// What each member could come up with: node → snapshot id (short) @ epoch.
        public var held: [String: String]
        public init(volume: String, owner: String?, token: UInt64?, lease: String?, held: [String: String]) {
            self.volume = volume
            self.owner = owner
            self.token = token
            self.lease = lease
            self.held = held
        }
    }

    public struct Event: Codable, Sendable {
        public var volume: String
        public var kind: String
        public var owner: String
        public var previousOwner: String
        public var token: UInt64
        public var snapshot: String
        public var dataLossSeconds: Double
        public var at: String
        public init(volume: String, kind: String, owner: String, previousOwner: String, token: UInt64, snapshot: String,
                    dataLossSeconds: Double, at: String) {
            self.volume = volume
            self.kind = kind
            self.owner = owner
            self.previousOwner = previousOwner
            self.token = token
            self.snapshot = snapshot
            self.dataLossSeconds = dataLossSeconds
            self.at = at
        }
    }

    public var node: String
    public var endpoints: [String]
    public var etcdCluster: String?
    public var prefix: String
    public var leaseSeconds: Int
    /// This agent's lease, and whether it is confirmed alive now.
    public var lease: String?
    public var leaseAlive: Bool
    public var members: [Member]
    public var owners: [Owner]
    public var events: [Event]

    public init(node: String, endpoints: [String], etcdCluster: String?, prefix: String, leaseSeconds: Int, lease: String?,
                leaseAlive: Bool, members: [Member], owners: [Owner], events: [Event]) {
        self.node = node
        self.endpoints = endpoints
        self.etcdCluster = etcdCluster
        self.prefix = prefix
        self.leaseSeconds = leaseSeconds
        self.lease = lease
        self.leaseAlive = leaseAlive
        self.members = members
        self.owners = owners
        self.events = events
    }
}
