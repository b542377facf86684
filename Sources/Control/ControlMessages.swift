import Foundation
import Retention

/// One request on the control socket: a JSON object on one line.
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Command: String, Codable, Sendable { case status, snapshot, replicate, migrate, failover, drain, clusterStatus, forget, gc, rollback, peerSnapshots, fetch }
    public var command: Command
    public var volume: String?
    /// replicate: one replica; migrate, failover: the target.
    public var peer: String?
    public var force: Bool?
    /// forget: what to forget.
    public var forget: ForgetRequest?
    /// rollback: what to restore in place.
    public var rollback: RollbackRequest?
    /// fetch: the full id of the peer's snapshot.
    public var snapshot: String?
    /// migrate: the longest the final copy may keep the container stopped (nil: the volume's `max_downtime`).
    public var maxDowntimeSeconds: Double?

    public init(command: Command, volume: String? = nil, peer: String? = nil, force: Bool? = nil, forget: ForgetRequest? = nil,
                rollback: RollbackRequest? = nil, snapshot: String? = nil, maxDowntimeSeconds: Double? = nil) {
        self.command = command
        self.volume = volume
        self.peer = peer
        self.force = force
        self.forget = forget
        self.rollback = rollback
        self.snapshot = snapshot
        self.maxDowntimeSeconds = maxDowntimeSeconds
    }
}

/// `barge forget` through the agent: snapshots named, a policy given on the
/// command line, or (`configuredPolicy`) the volume's `[volume.retention]`.
public struct ForgetRequest: Codable, Sendable, Equatable {
    public var snapshots: [String]
    public var policy: RetentionPolicy?
    public var configuredPolicy: Bool
    public var dryRun: Bool

    public init(snapshots: [String], policy: RetentionPolicy?, configuredPolicy: Bool, dryRun: Bool) {
        self.snapshots = snapshots
        self.policy = policy
        self.configuredPolicy = configuredPolicy
        self.dryRun = dryRun
    }
}

/// What forget decided: every verdict, and the snapshots removed (or, in a
/// dry run, that would be).
public struct ForgetReport: Codable, Sendable {
    public var volume: String
    public var dryRun: Bool
    public var policy: RetentionPolicy?
    public var verdicts: [RetentionVerdict]
    public var forgotten: [String]

    public init(volume: String, dryRun: Bool, policy: RetentionPolicy?, verdicts: [RetentionVerdict], forgotten: [String]) {
        self.volume = volume
        self.dryRun = dryRun
        self.policy = policy
        self.verdicts = verdicts
        self.forgotten = forgotten
    }
}

/// What one gc run did (on the agent, beside its snapshots and receptions, or alone).
public struct GCReport: Codable, Sendable, Equatable {
    public var liveBlobs: Int
    public var deadBlobs: Int
    public var packsDeleted: Int
    public var packsRewritten: Int
    public var bytesReclaimed: Int
    public var bytesCopied: Int
    /// Packs a writer held meanwhile: left for the next run.
    public var packsSkipped: Int
    /// Dead blobs a snapshot or reception looked up while gc ran: kept.
    public var blobsRevived: Int
    public var waitedSeconds: Double
    public var seconds: Double

    public init(liveBlobs: Int, deadBlobs: Int, packsDeleted: Int, packsRewritten: Int, bytesReclaimed: Int, bytesCopied: Int,
                packsSkipped: Int, blobsRevived: Int, waitedSeconds: Double, seconds: Double) {
        self.liveBlobs = liveBlobs
        self.deadBlobs = deadBlobs
        self.packsDeleted = packsDeleted
        self.packsRewritten = packsRewritten
        self.bytesReclaimed = bytesReclaimed
        self.bytesCopied = bytesCopied
        self.packsSkipped = packsSkipped
        self.blobsRevived = blobsRevived
        self.waitedSeconds = waitedSeconds
        self.seconds = seconds
    }
}

/// The answer: one JSON object on one line, `ok` with a result or an error.
public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var status: StatusReport?
    public var snapshot: SnapshotReport?
    public var replication: ReplicationReport?
    public var migration: MigrationReport?
    public var failover: FailoverReport?
    public var drain: DrainReport?
    public var cluster: ClusterReport?
    public var forget: ForgetReport?
    public var gc: GCReport?
    public var rollback: RollbackReport?
    public var peerSnapshots: PeerSnapshotList?
    public var fetch: FetchReport?
    public var error: ControlFailure?

    public init(ok: Bool, status: StatusReport? = nil, snapshot: SnapshotReport? = nil, replication: ReplicationReport? = nil,
                migration: MigrationReport? = nil, failover: FailoverReport? = nil, drain: DrainReport? = nil,
                cluster: ClusterReport? = nil, forget: ForgetReport? = nil, gc: GCReport? = nil, rollback: RollbackReport? = nil,
                peerSnapshots: PeerSnapshotList? = nil, fetch: FetchReport? = nil, error: ControlFailure? = nil) {
        self.ok = ok
        self.status = status
        self.snapshot = snapshot
        self.replication = replication
        self.migration = migration
        self.failover = failover
        self.drain = drain
        self.cluster = cluster
        self.forget = forget
        self.gc = gc
        self.rollback = rollback
        self.peerSnapshots = peerSnapshots
        self.fetch = fetch
        self.error = error
    }
}

public struct ControlFailure: Codable, Sendable, Error, CustomStringConvertible {
    public var message: String
    public var hint: String?
    /// The CLI exits with this (1 error, 2 usage, 3 partial).
    public var exitCode: Int32

    public init(message: String, hint: String? = nil, exitCode: Int32 = 1) {
        self.message = message
        self.hint = hint
        self.exitCode = exitCode
    }

    public var description: String { hint.map { "\(message)\n  hint: \($0)" } ?? message }
}

public struct StatusReport: Codable, Sendable {
    public var node: String
    public var pid: Int32
    public var startedAt: String
    public var volumes: [VolumeStatus]
    public init(node: String, pid: Int32, startedAt: String, volumes: [VolumeStatus]) {
        self.node = node
        self.pid = pid
        self.startedAt = startedAt
        self.volumes = volumes
    }
}

public struct VolumeStatus: Codable, Sendable {
    public var name: String
    public var path: String
    public var owner: String
    public var epoch: UInt64
    /// "owner" or "replica" on this node.
    public var role: String
    public var latestSnapshot: String?
    public var latestSnapshotTime: String?
    public var snapshots: Int
    public var replicas: [ReplicaStatus]
    public var standbyPath: String?
    public var standbySnapshot: String?
    public var standbyUpdating: Bool?
    /// Whether the container the hooks manage runs on this node ("up", "down"), or "unknown" before any hook ran;
    /// "fenced" on an owner that stopped it because it cannot prove its etcd lease.
    public var container: String?
    public var lastError: String?
    /// Set while the agent re-seeds an empty store from the volume's owner.
    public var reseed: String?
    /// On the owner: each `[[offsite]]` target that lists the volume.
    public var offsite: [OffsiteStatus]?
    public init(name: String, path: String, owner: String, epoch: UInt64, role: String, latestSnapshot: String?, latestSnapshotTime: String?,
                snapshots: Int, replicas: [ReplicaStatus], standbyPath: String?, standbySnapshot: String?, standbyUpdating: Bool?,
                container: String?, lastError: String?) {
        self.name = name
        self.path = path
        self.owner = owner
        self.epoch = epoch
        self.role = role
        self.latestSnapshot = latestSnapshot
        self.latestSnapshotTime = latestSnapshotTime
        self.snapshots = snapshots
        self.replicas = replicas
        self.standbyPath = standbyPath
        self.standbySnapshot = standbySnapshot
        self.standbyUpdating = standbyUpdating
        self.container = container
        self.lastError = lastError
    }
}

/// The owner's uploads of one volume to one `[[offsite]]` target.
public struct OffsiteStatus: Codable, Sendable, Equatable {
    public var target: String
    public var uploadedSnapshot: String?
    public var uploadedAt: String?
    public var lastBytesUploaded: Int?
    /// Set while an upload runs.
    public var uploading: Bool
    /// Why the last upload, forget or gc failed; nil once one succeeds.
    public var lastError: String?
    public init(target: String, uploadedSnapshot: String? = nil, uploadedAt: String? = nil, lastBytesUploaded: Int? = nil,
                uploading: Bool = false, lastError: String? = nil) {
        self.target = target
        self.uploadedSnapshot = uploadedSnapshot
        self.uploadedAt = uploadedAt
        self.lastBytesUploaded = lastBytesUploaded
        self.uploading = uploading
        self.lastError = lastError
    }
}

public struct ReplicaStatus: Codable, Sendable {
    public var peer: String
    public var ackedSnapshot: String?
    public var ackedAt: String?
    /// Age of the replica's newest snapshot relative to ours; 0 when current.
    public var lagSeconds: Double?
    /// Bytes our snapshots since the acknowledged one added to the store.
    public var lagBytes: UInt64?
    /// Why the last transfer to this replica failed; nil once one succeeds.
    public var lastError: String?
    /// What to do about `lastError`, when the cause is known.
    public var lastErrorHint: String?
    public init(peer: String, ackedSnapshot: String?, ackedAt: String?, lagSeconds: Double?, lagBytes: UInt64?,
                lastError: String? = nil, lastErrorHint: String? = nil) {
        self.peer = peer
        self.ackedSnapshot = ackedSnapshot
        self.ackedAt = ackedAt
        self.lagSeconds = lagSeconds
        self.lagBytes = lagBytes
        self.lastError = lastError
        self.lastErrorHint = lastErrorHint
    }
}

public struct SnapshotReport: Codable, Sendable {
    public var id: String
    public var volume: String
    public var epoch: UInt64
    public var files: UInt64
    public var bytesTotal: UInt64
    public var bytesAdded: Int
    /// File bytes read: files unchanged since the parent snapshot are not read.
    public var bytesRead: UInt64
    public var durationS: Double
    public var skipped: [String]
    /// Chunks of large files recognised by the agent's fingerprints of the last snapshot (not cut or hashed).
    public var chunksFoundAgain: Int?
    public init(id: String, volume: String, epoch: UInt64, files: UInt64, bytesTotal: UInt64, bytesAdded: Int, bytesRead: UInt64,
                durationS: Double, skipped: [String], chunksFoundAgain: Int? = nil) {
        self.id = id
        self.volume = volume
        self.epoch = epoch
        self.files = files
        self.bytesTotal = bytesTotal
        self.bytesAdded = bytesAdded
        self.bytesRead = bytesRead
        self.durationS = durationS
        self.skipped = skipped
        self.chunksFoundAgain = chunksFoundAgain
    }
}

public struct PeerTransfer: Codable, Sendable {
    public var peer: String
    public var ok: Bool
    public var error: String?
    /// What to do about `error`, when the cause is known (a replica's full disk).
    public var hint: String?
    public var alreadyThere: Bool
    public var bytesSent: Int
    public var bytesReceived: Int
    public var chunksRaw: Int
    public var chunksDelta: Int
    public var trees: Int
    public var seconds: Double
    public init(peer: String, ok: Bool, error: String?, hint: String? = nil, alreadyThere: Bool, bytesSent: Int, bytesReceived: Int,
                chunksRaw: Int, chunksDelta: Int, trees: Int, seconds: Double) {
        self.peer = peer
        self.ok = ok
        self.error = error
        self.hint = hint
        self.alreadyThere = alreadyThere
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.chunksRaw = chunksRaw
        self.chunksDelta = chunksDelta
        self.trees = trees
        self.seconds = seconds
    }
}

public struct ReplicationReport: Codable, Sendable {
    public var volume: String
    public var snapshot: String
    public var bytesSent: Int
    public var chunksRaw: Int
    public var chunksDelta: Int
    public var seconds: Double
    public var peers: [PeerTransfer]
    public init(volume: String, snapshot: String, peers: [PeerTransfer], seconds: Double) {
        self.volume = volume
        self.snapshot = snapshot
        self.peers = peers
        self.seconds = seconds
        self.bytesSent = peers.reduce(0) { $0 + $1.bytesSent }
        self.chunksRaw = peers.reduce(0) { $0 + $1.chunksRaw }
        self.chunksDelta = peers.reduce(0) { $0 + $1.chunksDelta }
    }
}

/// snake_case JSON both ways, as everything else barge prints.
public enum ControlJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    /// Bound on one line: a status of thousands of volumes fits; garbage does not.
    public static let maxLineLength = 16 << 20
}
