/// `[volume.hooks]`: commands run around ownership changes and snapshots.
public struct VolumeHooks: Sendable, Equatable {
    /// Starts the volume's service once this node owns it.
    public var start: String?
    /// Stops the service before ownership moves away.
    public var stop: String?
    /// Quiesces the data (e.g. flushes a database) before a snapshot.
    public var preSnapshot: String?
    public var postSnapshot: String?
    /// How long any one hook may run.
    public var timeoutSeconds: Double

    public static let defaultTimeoutSeconds: Double = 60

    public init(start: String? = nil, stop: String? = nil, preSnapshot: String? = nil,
                postSnapshot: String? = nil, timeoutSeconds: Double = Self.defaultTimeoutSeconds) {
        self.start = start
        self.stop = stop
        self.preSnapshot = preSnapshot
        self.postSnapshot = postSnapshot
        self.timeoutSeconds = timeoutSeconds
    }

    static let keys = ["start", "stop", "pre_snapshot", "post_snapshot", "timeout"]

    init(reading table: TableReader) throws(ConfigError) {
        try table.rejectUnknownKeys(allowed: Self.keys)
        self.init(start: try table.command("start"),
                  stop: try table.command("stop"),
                  preSnapshot: try table.command("pre_snapshot"),
                  postSnapshot: try table.command("post_snapshot"),
                  timeoutSeconds: try table.duration("timeout", default: Self.defaultTimeoutSeconds,
                                                     minimum: (0.001, "1ms")))
    }
}
