import NIOSSL

/// How to reach an etcd cluster: its client URLs, TLS, credentials and bounds.
public struct EtcdConfiguration: Sendable {
    /// Client URLs such as "http://127.0.0.1:2379" or "https://host:2379". More
    /// are learned from the member list; these are always kept.
    public var endpoints: [String]
    /// Client TLS for https endpoints (trust roots, certificate and key chosen by the caller).
    public var tls: NIOSSLContext?
    /// User and password for etcd auth; nil when auth is off.
    public var credentials: EtcdCredentials?
    /// The total time one call may take, every attempt on every endpoint included.
    public var requestTimeout: Duration
    /// The largest response body (or watch message) accepted.
    public var maxResponseBytes: Int
    /// How often an open watch checks, with a quorum read on the same endpoint,
    /// that its member still serves the cluster. A frozen or partitioned member
    /// sends nothing; without the probe its watch would look quiet forever.
    public var watchProbeInterval: Duration
    /// How often the endpoint list is refreshed from the member list after a successful call.
    public var memberRefreshInterval: Duration

    public init(endpoints: [String], tls: NIOSSLContext? = nil, credentials: EtcdCredentials? = nil,
                requestTimeout: Duration = .seconds(2), maxResponseBytes: Int = 16 << 20,
                watchProbeInterval: Duration = .seconds(5), memberRefreshInterval: Duration = .seconds(30)) {
        self.endpoints = endpoints
        self.tls = tls
        self.credentials = credentials
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.watchProbeInterval = watchProbeInterval
        self.memberRefreshInterval = memberRefreshInterval
    }
}

/// An etcd user and password; exchanged for a token at /v3/auth/authenticate.
public struct EtcdCredentials: Sendable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }
}
