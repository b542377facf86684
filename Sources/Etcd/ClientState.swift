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

    /// Configured URLs that do not parse, kept to name them in errors.
    let unparsable: [String]

    init(configured urls: [String], refreshInterval: TimeAmount) {
        configured = urls.compactMap(Endpoint.init)
        unparsable = urls.filter { Endpoint($0) == nil }
        self.refreshInterval = refreshInterval
        current = configured.first
        nextRefresh = .now() + refreshInterval
    }

    /// Why there is no candidate at all.
    var whyNone: String {
        var reasons: [String] = []
        if !unparsable.isEmpty { reasons.append("not http(s)://host:port URLs: \(unparsable.joined(separator: ", "))") }
        if !refused.isEmpty { reasons.append("answered for another cluster: \(refused.map(\.description).sorted().joined(separator: ", "))") }
        return reasons.isEmpty ? "none configured" : reasons.joined(separator: "; ")
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
