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

    public static let defaultPath = "/etc/barge/barge.toml"

    public init(node: NodeSettings, tls: TLSSettings, peers: [PeerSettings] = [], volumes: [VolumeSettings] = [],
                cluster: ClusterSettings? = nil) {
        self.node = node
        self.tls = tls
        self.peers = peers
        self.volumes = volumes
        self.cluster = cluster
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
