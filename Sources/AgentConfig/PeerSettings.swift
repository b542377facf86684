/// One `[[peer]]`: another node this one talks to.
public struct PeerSettings: Sendable, Equatable {
    /// Must match the name in the peer's certificate.
    public var name: String
    public var address: HostPort
    /// Bytes per second sent to this peer; nil for unlimited.
    public var bandwidthLimit: Int?

    public init(name: String, address: HostPort, bandwidthLimit: Int? = nil) {
        self.name = name
        self.address = address
        self.bandwidthLimit = bandwidthLimit
    }

    static let keys = ["name", "address", "bandwidth_limit"]

    init(reading table: TableReader) throws(ConfigError) {
        try table.rejectUnknownKeys(allowed: Self.keys)
        let name = try table.name("name", required: "\"d1\"")
        let example = "\"\(name).example.net:7420\""
        guard let address = try table.hostPort("address", default: nil, example: example) else {
            throw table.missing("address", example: example)
        }
        self.init(name: name, address: address, bandwidthLimit: try table.bandwidth("bandwidth_limit"))
    }
}
