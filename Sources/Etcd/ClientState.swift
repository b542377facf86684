import NIOCore

/// What an EtcdClient learns as it runs: the cluster it serves, which endpoints
/// exist, which one answered last, and the auth token. Kept in a Mutex by the client.
struct ClientState: Sendable {
    private let configured: [Endpoint]
    private var learned: [Endpoint] = []
    /// Endpoints that answered for another cluster; never used again.
    private var refused: Set<Endpoint> = []
    private var current: Endpoint?
    private(set) var clusterID: UInt64?
    var token: String?
    private var nextRefresh: NIODeadline
    private let refreshInterval: TimeAmount

    init(configured: [Endpoint], refreshInterval: TimeAmount) {
        self.configured = configured
        self.refreshInterval = refreshInterval
        current = configured.first
        nextRefresh = .now() + refreshInterval
    }

    /// Endpoints to try, the one that answered last first.
    var candidates: [Endpoint] {
        var seen: Set<Endpoint> = refused
        var list: [Endpoint] = []
        for endpoint in [current].compactMap({ $0 }) + configured + learned where !seen.contains(endpoint) {
            seen.insert(endpoint)
            list.append(endpoint)
        }
        return list
    }

    /// Accepts an answer's cluster id: the first one becomes the cluster; a
    /// different one later refuses the endpoint for good. Returns whether it matched.
    mutating func admit(clusterID answered: UInt64, from endpoint: Endpoint) -> Bool {
        guard let clusterID else {
            clusterID = answered
            return true
        }
        if answered == clusterID { return true }
        refused.insert(endpoint)
        if current == endpoint { current = nil }
        return false
    }

    mutating func answered(by endpoint: Endpoint) {
        current = endpoint
    }

    mutating func failed(_ endpoint: Endpoint) {
        if current == endpoint { current = nil }
    }

    /// Every endpoint failed: the members may have moved, so refresh at the next success.
    mutating func allFailed() {
        nextRefresh = .now()
    }

    /// Whether the member list should be fetched now; claims the refresh so
    /// concurrent calls do not all do it.
    mutating func claimRefresh() -> Bool {
        guard NIODeadline.now() >= nextRefresh else { return false }
        nextRefresh = .now() + refreshInterval
        return true
    }

    /// Replaces the learned endpoints with the members' client URLs.
    mutating func learn(_ urls: [String]) {
        learned = urls.compactMap(Endpoint.init)
    }
}
