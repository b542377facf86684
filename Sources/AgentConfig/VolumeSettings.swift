import Retention

/// One `[[volume]]`: a directory replicated from its owner to its replicas.
public struct VolumeSettings: Sendable, Equatable {
    public var name: String
    /// Absolute and normalized (no `//`, `.` or trailing `/`).
    public var path: String
    /// The node that owns the volume at first start.
    public var owner: String
    /// Nodes that keep a standby copy; never contains `owner`.
    public var replicas: [String]
    public var intervalSeconds: Double
    /// FastCDC average chunk size in bytes.
    public var chunkAverage: Int
    public var hooks: VolumeHooks
    /// With `[cluster]`: whether a replica takes the volume over by itself when
    /// the owner's lease expires (false pins it to its owner).
    public var autoFailover: Bool
    /// `[volume.retention]`; nil keeps every snapshot.
    public var retention: RetentionPolicy?
    /// The longest a migration's final copy (final snapshot and its replication, with the
    /// container stopped) may take before the migration gives up and starts it here again.
    public var maxDowntimeSeconds: Double

    /// Every node that may own the volume: the initial owner and its replicas.
    /// Once ownership moves, the replicas are the members other than the owner.
    public var members: [String] { [owner] + replicas }

    public static let defaultIntervalSeconds: Double = 60
    public static let defaultChunkAverage = 64 * 1024
    public static let defaultMaxDowntimeSeconds: Double = 60

    public init(name: String, path: String, owner: String, replicas: [String] = [],
                intervalSeconds: Double = Self.defaultIntervalSeconds,
                chunkAverage: Int = Self.defaultChunkAverage, hooks: VolumeHooks = VolumeHooks(), autoFailover: Bool = true,
                retention: RetentionPolicy? = nil, maxDowntimeSeconds: Double = Self.defaultMaxDowntimeSeconds) {
        self.name = name
        self.path = path
        self.owner = owner
        self.replicas = replicas
        self.intervalSeconds = intervalSeconds
        self.chunkAverage = chunkAverage
        self.hooks = hooks
        self.autoFailover = autoFailover
        self.retention = retention
        self.maxDowntimeSeconds = maxDowntimeSeconds
    }

    static let keys = ["name", "path", "owner", "replicas", "interval", "chunk_size", "hooks", "auto_failover", "retention",
                       "max_downtime"]

    /// Reads one volume; who `owner` and `replicas` name is checked later,
    /// once all peers are known.
    init(reading table: TableReader) throws(ConfigError) {
        try table.rejectUnknownKeys(allowed: Self.keys)
        let name = try table.name("name", required: "\"git\"")
        let path = try table.path("path", example: "\"/media/state/\(name)\"")
        guard path != "/" else {
            let problem = VolumePathRule.rootProblem(name: name)
            throw table.error("path", problem.message, hint: problem.hint)
        }
        let owner = try table.requiredString("owner", example: "\"d0\"")
        var hooks = VolumeHooks()
        if let hooksTable = try table.subtable("hooks") { hooks = try VolumeHooks(reading: hooksTable) }
        var retention: RetentionPolicy?
        if let retentionTable = try table.subtable("retention") { retention = try RetentionSettings.read(retentionTable) }
        self.init(name: name, path: path, owner: owner,
                  replicas: try table.stringArray("replicas") ?? [],
                  intervalSeconds: try table.duration("interval", default: Self.defaultIntervalSeconds,
                                                      minimum: (0.1, "100ms")),
                  chunkAverage: try table.chunkSize("chunk_size", default: Self.defaultChunkAverage),
                  hooks: hooks, autoFailover: try table.bool("auto_failover", default: true), retention: retention,
                  maxDowntimeSeconds: try table.duration("max_downtime", default: Self.defaultMaxDowntimeSeconds, minimum: (1, "1s")))
    }
}
