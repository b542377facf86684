/// `[tls]`: the files for mutual TLS between nodes.
public struct TLSSettings: Sendable, Equatable {
    /// CA bundle every peer certificate must chain to.
    public var ca: String
    public var certificate: String
    public var key: String

    public init(ca: String, certificate: String, key: String) {
        self.ca = ca
        self.certificate = certificate
        self.key = key
    }

    static let keys = ["ca", "cert", "key"]

    init(reading table: TableReader) throws(ConfigError) {
        try table.rejectUnknownKeys(allowed: Self.keys)
        self.init(ca: try table.path("ca", example: "\"/etc/barge/ca.pem\""),
                  certificate: try table.path("cert", example: "\"/etc/barge/node.pem\""),
                  key: try table.path("key", example: "\"/etc/barge/node.key\""))
    }
}
