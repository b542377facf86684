import Foundation

/// The agent's validated configuration, read from `/etc/barge/barge.toml`.
///
/// Everything is checked up front (types, unknown keys, names, paths, who
/// owns and replicates what) so the agent never starts on a half-valid file.
public struct AgentConfiguration: Sendable, Equatable {
    public var node: NodeSettings
    public var tls: TLSSettings
    public var peers: [PeerSettings]
    public var volumes: [VolumeSettings]
    /// etcd for leases and automatic failover; nil: ownership moves only by command.
    public var cluster: ClusterSettings?
    /// `[[offsite]]` buckets that keep encrypted copies of volumes' history.
    public var offsite: [OffsiteSettings]

    public static let defaultPath = "/etc/barge/barge.toml"

    public init(node: NodeSettings, tls: TLSSettings, peers: [PeerSettings] = [], volumes: [VolumeSettings] = [],
                cluster: ClusterSettings? = nil, offsite: [OffsiteSettings] = []) {
        self.node = node
        self.tls = tls
        self.peers = peers
        self.volumes = volumes
        self.cluster = cluster
        self.offsite = offsite
    }

    /// Reads and validates the file at `path`; errors name `path` as their source.
    public static func load(path: String) throws(ConfigError) -> AgentConfiguration {
        func failure(_ message: String, _ hint: String) -> ConfigError {
            ConfigError(source: path, line: nil, key: nil, message: message, hint: hint)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("no such file", "create the config file, or point the agent at the right path")
        }
        guard !isDirectory.boolValue else {
            throw failure("is a directory, not a config file", "give the path of the .toml file itself")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("cannot be read", "check the file's permissions for the user running barge")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw failure("is not valid UTF-8 text", "save the file as UTF-8")
        }
        return try parse(text, source: path)
    }

    /// The `[[offsite]]` tables of the file at `path`, without requiring or checking the rest:
    /// a bare machine's file may hold nothing else.
    public static func loadOffsite(path: String) throws(ConfigError) -> [OffsiteSettings] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(source: path, line: nil, key: nil, message: "cannot be read (missing or no permission)",
                              hint: "give the file with the [[offsite]] table, e.g. --config /etc/barge/barge.toml")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigError(source: path, line: nil, key: nil, message: "is not valid UTF-8 text", hint: "save the file as UTF-8")
        }
        return try ConfigReader(text: text, source: path).readOffsite()
    }

    /// Parses and validates TOML `text`; `source` names it in errors.
    public static func parse(_ text: String, source: String) throws(ConfigError) -> AgentConfiguration {
        try ConfigReader(text: text, source: source).read()
    }

    public func peer(named name: String) -> PeerSettings? {
        peers.first { $0.name == name }
    }

    public func volume(named name: String) -> VolumeSettings? {
        volumes.first { $0.name == name }
    }

    /// Volumes this node owns at first start: it snapshots them and sends
    /// them to their replicas.
    public var ownedVolumes: [VolumeSettings] {
        volumes.filter { $0.owner == node.name }
    }

    /// Volumes this node keeps a standby copy of, received from their owner.
    public var standbyVolumes: [VolumeSettings] {
        volumes.filter { $0.replicas.contains(node.name) }
    }
}
