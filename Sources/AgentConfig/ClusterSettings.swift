/// `[cluster]`: the etcd cluster that holds leases and owner records. Without
/// it, ownership changes only by an operator's command.
public struct ClusterSettings: Sendable, Equatable {
    /// Client URLs of etcd members, `http://host:port` or `https://host:port`.
    public var endpoints: [String]
    /// Every key barge writes starts with this; several barge clusters may share one etcd.
    public var prefix: String
    /// The agent's liveness lease. A dead owner's volumes fail over after about
    /// this long; a shorter one also fences an owner sooner when etcd is slow.
    public var leaseTTLSeconds: Int
    /// CA bundle for https endpoints, and a client certificate and key when etcd asks for one.
    public var ca: String?
    public var certificate: String?
    public var key: String?
    /// etcd's auth: a user and a file holding its password.
    public var user: String?
    public var passwordFile: String?

    public static let defaultPrefix = "/barge/"
    public static let defaultLeaseTTLSeconds = 5

    public init(endpoints: [String], prefix: String = Self.defaultPrefix, leaseTTLSeconds: Int = Self.defaultLeaseTTLSeconds,
                ca: String? = nil, certificate: String? = nil, key: String? = nil, user: String? = nil, passwordFile: String? = nil) {
        self.endpoints = endpoints
        self.prefix = prefix
        self.leaseTTLSeconds = leaseTTLSeconds
        self.ca = ca
        self.certificate = certificate
        self.key = key
        self.user = user
        self.passwordFile = passwordFile
    }

    static let keys = ["endpoints", "prefix", "lease_ttl", "ca", "cert", "key", "user", "password_file"]

    init(reading table: TableReader) throws(ConfigError) {
        try table.rejectUnknownKeys(allowed: Self.keys)
        let example = "[\"http://10.0.0.1:2379\", \"http://10.0.0.2:2379\", \"http://10.0.0.3:2379\"]"
        guard let endpoints = try table.stringArray("endpoints"), !endpoints.isEmpty else {
            throw table.error("endpoints", "[cluster] needs the client URLs of the etcd members", hint: "endpoints = \(example)")
        }
        for endpoint in endpoints {
            guard let rest = endpoint.hasPrefix("http://") ? endpoint.dropFirst(7) : endpoint.hasPrefix("https://") ? endpoint.dropFirst(8) : nil,
                  case .success = HostPort.parse(String(rest)) else {
                throw table.error("endpoints", "\"\(endpoint)\" is not an etcd client URL",
                                  hint: "write http://host:port or https://host:port, e.g. \(example)")
            }
        }
        let prefix = try table.string("prefix", example: "\"/barge/site-a/\"") ?? Self.defaultPrefix
        guard prefix.hasPrefix("/"), prefix.hasSuffix("/"), prefix.count >= 2, prefix.utf8.count <= 128,
              !prefix.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw table.error("prefix", "\"\(prefix)\" is not a key prefix",
                              hint: "start and end it with /, e.g. \"/barge/site-a/\" (at most 128 bytes)")
        }
        let ttl = try table.duration("lease_ttl", default: Double(Self.defaultLeaseTTLSeconds), minimum: (2, "2s"))
        guard ttl <= 300, ttl == ttl.rounded() else {
            throw table.error("lease_ttl", "etcd leases are whole seconds from 2s to 300s",
                              hint: "e.g. lease_ttl = \"5s\"; see docs/operations.md for the trade-off")
        }
        let ca = try table.optionalPath("ca", example: "\"/etc/barge/etcd-ca.pem\"")
        let certificate = try table.optionalPath("cert", example: "\"/etc/barge/etcd-client.pem\"")
        let key = try table.optionalPath("key", example: "\"/etc/barge/etcd-client.key\"")
        if endpoints.contains(where: { $0.hasPrefix("https://") }), ca == nil {
            throw table.error("ca", "https endpoints need the CA that signed etcd's certificate", hint: "ca = \"/etc/barge/etcd-ca.pem\"")
        }
        guard (certificate == nil) == (key == nil) else {
            throw table.error(certificate == nil ? "cert" : "key", "a client certificate needs both cert and key", hint: "set both, or neither")
        }
        let user = try table.string("user", example: "\"barge\"")
        let passwordFile = try table.optionalPath("password_file", example: "\"/etc/barge/etcd.password\"")
        guard (user == nil) == (passwordFile == nil) else {
            throw table.error(user == nil ? "user" : "password_file", "etcd's auth needs both user and password_file",
                              hint: "set both, or neither")
        }
        self.init(endpoints: endpoints, prefix: prefix, leaseTTLSeconds: Int(ttl), ca: ca, certificate: certificate, key: key,
                  user: user, passwordFile: passwordFile)
    }
}
