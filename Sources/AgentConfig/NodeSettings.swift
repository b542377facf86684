/// `[node]`: who this agent is and where it listens and keeps state.
public struct NodeSettings: Sendable, Equatable {
    public var name: String
    /// Peer port (mutual TLS).
    public var listen: HostPort
    public var stateDirectory: String
    public var controlSocket: String
    /// Prometheus endpoint; nil when `metrics = ""`.
    public var metrics: HostPort?
    /// How often the agent applies every volume's `[volume.retention]`.
    public var retentionIntervalSeconds: Double
    /// A peer session that receives nothing for this long (a live peer sends a
    /// keepalive every sixth of it) is closed: the peer froze or was cut off.
    public var peerTimeoutSeconds: Double

    public static let defaultListen = HostPort(host: "0.0.0.0", port: 7420)
    public static let defaultStateDirectory = "/var/lib/barge"
    public static let defaultControlSocket = "/run/barge/control.sock"
    public static let defaultMetrics = HostPort(host: "127.0.0.1", port: 9420)
    public static let defaultRetentionIntervalSeconds: Double = 3600
    public static let defaultPeerTimeoutSeconds: Double = 30

    public init(name: String, listen: HostPort = Self.defaultListen,
                stateDirectory: String = Self.defaultStateDirectory,
                controlSocket: String = Self.defaultControlSocket,
                metrics: HostPort? = Self.defaultMetrics,
                retentionIntervalSeconds: Double = Self.defaultRetentionIntervalSeconds,
                peerTimeoutSeconds: Double = Self.defaultPeerTimeoutSeconds) {
        self.name = name
        self.listen = listen
        self.stateDirectory = stateDirectory
        self.controlSocket = controlSocket
        self.metrics = metrics
        self.retentionIntervalSeconds = retentionIntervalSeconds
        self.peerTimeoutSeconds = peerTimeoutSeconds
    }

    static let keys = ["name", "listen", "state_dir", "control_socket", "metrics", "retention_interval", "peer_timeout"]

    init(reading table: TableReader) throws(ConfigError) {
        try table.rejectUnknownKeys(allowed: Self.keys)
        self.init(
            name: try table.name("name", required: "\"d0\""),
            listen: try table.hostPort("listen", default: Self.defaultListen, example: "\"0.0.0.0:7420\"")
                ?? Self.defaultListen,
            stateDirectory: try table.path("state_dir", default: Self.defaultStateDirectory,
                                           example: "\"/var/lib/barge\""),
            controlSocket: try table.path("control_socket", default: Self.defaultControlSocket,
                                          example: "\"/run/barge/control.sock\""),
            metrics: try table.hostPort("metrics", default: Self.defaultMetrics, allowEmpty: true,
                                        example: "\"127.0.0.1:9420\""),
            retentionIntervalSeconds: try table.duration("retention_interval", default: Self.defaultRetentionIntervalSeconds,
                                                         minimum: (1, "1s")),
            peerTimeoutSeconds: try table.duration("peer_timeout", default: Self.defaultPeerTimeoutSeconds,
                                                   minimum: (2, "2s"), maximum: (3600, "1h")))
    }
}
