/// One step of a move, as `migrate --json` reports it.
public struct MovePhase: Codable, Sendable {
    public var name: String
    public var seconds: Double
    public var bytesSent: Int
    public init(name: String, seconds: Double, bytesSent: Int) {
        self.name = name
        self.seconds = seconds
        self.bytesSent = bytesSent
    }
}

public struct MigrationReport: Codable, Sendable {
    public var volume: String
    public var from: String
    public var to: String
    public var epoch: UInt64
    public var snapshot: String
    /// From the stop hook's start on the source to the start hook's end on the target.
    public var downtimeS: Double
    public var bytesSent: Int
    public var seconds: Double
    public var phases: [MovePhase]
    public init(volume: String, from: String, to: String, epoch: UInt64, snapshot: String, downtimeS: Double,
                seconds: Double, phases: [MovePhase]) {
        self.volume = volume
        self.from = from
        self.to = to
        self.epoch = epoch
        self.snapshot = snapshot
        self.downtimeS = downtimeS
        self.seconds = seconds
        self.phases = phases
        self.bytesSent = phases.reduce(0) { $0 + $1.bytesSent }
    }
}

public struct FailoverReport: Codable, Sendable {
    public var volume: String
    public var from: String
    public var to: String
    public var epoch: UInt64
    /// The snapshot the volume came up at: the last one the old owner replicated here.
    public var snapshot: String
    public var snapshotTime: String
    /// Writes on the old owner after this time may be lost (kept there as a diverged snapshot if it comes back).
    public var mayLoseSinceS: Double
    public var promotionS: Double
    public var started: Bool
    public var forced: Bool
    public init(volume: String, from: String, to: String, epoch: UInt64, snapshot: String, snapshotTime: String,
                mayLoseSinceS: Double, promotionS: Double, started: Bool, forced: Bool) {
        self.volume = volume
        self.from = from
        self.to = to
        self.epoch = epoch
        self.snapshot = snapshot
        self.snapshotTime = snapshotTime
        self.mayLoseSinceS = mayLoseSinceS
        self.promotionS = promotionS
        self.started = started
        self.forced = forced
    }
}

public struct DrainReport: Codable, Sendable {
    public var node: String
    public var migrations: [MigrationReport]
    public var failures: [String]
    public init(node: String, migrations: [MigrationReport], failures: [String]) {
        self.node = node
        self.migrations = migrations
        self.failures = failures
    }
}
