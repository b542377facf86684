import Foundation

/// `barge restore VOLUME --in-place` through the owner's agent: which snapshot
/// (an id or prefix, or the newest at or before a time) and, optionally, one path in the volume.
public struct RollbackRequest: Codable, Sendable, Equatable {
    public var snapshot: String?
    /// Nanoseconds since 1970: the newest snapshot at or before it.
    public var atNanoseconds: Int64?
    public var path: String?

    public init(snapshot: String?, atNanoseconds: Int64?, path: String?) {
        self.snapshot = snapshot
        self.atNanoseconds = atNanoseconds
        self.path = path
    }
}

/// What a roll-back replaced, and how to undo it.
public struct RollbackReport: Codable, Sendable {
    public var volume: String
    /// The snapshot restored.
    public var snapshot: String
    /// The live path replaced (the volume, or `path` in it).
    public var target: String
    /// A whole volume: entries replaced and removed (only what differs), large
    /// files patched where they lie. With `path`: files and directories restored.
    public var files: Int
    public var directories: Int
    public var entriesRemoved: Int
    public var filesPatchedInPlace: Int
    public var bytesWritten: Int
    /// What was there before: restore it the same way to undo.
    public var preRestoreSnapshot: String
    /// The restored state, snapshotted; replicas' standby copies follow it.
    public var resultSnapshot: String?
    /// Whether the container was stopped for it (and started again).
    public var containerStopped: Bool
    /// Stop hook to start hook.
    public var downtimeSeconds: Double?
    public var seconds: Double
    public var replication: ReplicationReport?
    public var warnings: [String]
    /// What could not be done after the data was rolled back (start hook, snapshot, replication).
    public var problems: [String]

    public init(volume: String, snapshot: String, target: String, files: Int, directories: Int, entriesRemoved: Int = 0,
                filesPatchedInPlace: Int = 0, bytesWritten: Int,
                preRestoreSnapshot: String, resultSnapshot: String?, containerStopped: Bool, downtimeSeconds: Double?,
                seconds: Double, replication: ReplicationReport?, warnings: [String], problems: [String]) {
        self.volume = volume
        self.snapshot = snapshot
        self.target = target
        self.files = files
        self.directories = directories
        self.entriesRemoved = entriesRemoved
        self.filesPatchedInPlace = filesPatchedInPlace
        self.bytesWritten = bytesWritten
        self.preRestoreSnapshot = preRestoreSnapshot
        self.resultSnapshot = resultSnapshot
        self.containerStopped = containerStopped
        self.downtimeSeconds = downtimeSeconds
        self.seconds = seconds
        self.replication = replication
        self.warnings = warnings
        self.problems = problems
    }
}
