import AgentConfig
import Control
import Foundation
import Identity
import Logging
import NIOCore
import NIOPosix
import Replication
import Repository
import Snapshots
import Synchronization

/// What every service of the agent shares: the store (held open for writing
/// for the agent's life), the config (swapped on SIGHUP), TLS identity,
/// per-volume locks and metrics.
final class AgentCore: Sendable {
    let store: Store
    let identity: TLSIdentity
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    let metrics = AgentMetrics()
    let locks = VolumeLocks()
    let receptions = Receptions()
    let startedAt = Date()
    private let configuration: Mutex<AgentConfiguration>
    private let lastErrors = Mutex<[String: String]>([:])
    /// The last failed transfer per volume and replica, until one succeeds.
    private let transferFailures = Mutex<[String: [String: TransferFailure]]>([:])
    let standby: StandbyKeeper
    let earlyStandby = EarlyStandbys()
    /// Large files' chunk fingerprints from this agent's snapshots (only changed ranges are hashed again).
    let fingerprints = ChunkFingerprints()
    let containers = Containers()
    /// Volumes whose owner (this node) stopped its container because it lost its lease.
    let suspended = Mutex<Set<String>>([])
    /// Set when `[cluster]` is configured.
    let coordinator = Mutex<ClusterCoordinator?>(nil)
    /// Under `[cluster]`: a guard process per running container (ContainerGuards).
    let guards: ContainerGuards
    /// Volumes promoted by this agent and not snapshotted since, with the time of the promotion.
    /// Volumes whose empty store is being re-seeded from the owner (Reseeder), for status.
    let reseeding = Mutex<[String: String]>([:])
    /// Uploads to `[[offsite]]` targets, by volume then target (OffsiteKeeper), for status.
    let offsite = Mutex<[String: [String: OffsiteStatus]]>([:])
    let promotedAt = Mutex<[String: (snapshot: BlobID, time: Int64)]>([:])

    init(config: AgentConfiguration, store: Store, identity: TLSIdentity, group: MultiThreadedEventLoopGroup, logger: Logger) {
        self.configuration = Mutex(config)
        self.store = store
        self.identity = identity
        self.group = group
        self.logger = logger
        self.standby = StandbyKeeper()
        self.guards = ContainerGuards(stateDirectory: config.node.stateDirectory)
    }

    var config: AgentConfiguration { configuration.withLock { $0 } }
    var node: String { identity.node }

    func replace(config: AgentConfiguration) throws {
        try register(config)
        configuration.withLock { $0 = config }
    }

    /// Puts every configured volume in the index, with its initial owner at epoch 1
    /// unless this node already knows a record (the record wins).
    func register(_ config: AgentConfiguration) throws {
        for volume in config.volumes where volume.members.contains(node) {
            if try store.index.volume(named: volume.name) == nil {
                try store.index.addVolume(VolumeRecord(name: volume.name, path: volume.path, chunkAverage: volume.chunkAverage))
            }
            if try store.index.ownership(of: volume.name) == nil {
                let floor = try store.snapshots(volume: volume.name).map(\.record.epoch).max() ?? 0
                try store.index.raiseOwnership(Ownership(volume: volume.name, owner: volume.owner, epoch: max(1, floor)))
            }
        }
    }

    /// Tells the cluster coordinator that what this node holds changed.
    func clusterNudge() { coordinator.withLock { $0 }?.nudge() }

    func noteError(_ volume: String, _ message: String?) {
        lastErrors.withLock { $0[volume] = message }
    }

    func lastError(_ volume: String) -> String? { lastErrors.withLock { $0[volume] } }

    func noteTransfer(_ volume: String, to peer: String, failure: TransferFailure?) {
        transferFailures.withLock { $0[volume, default: [:]][peer] = failure }
    }

    func transferFailure(_ volume: String, to peer: String) -> TransferFailure? {
        transferFailures.withLock { $0[volume]?[peer] }
    }

    func settings(_ volume: String) throws -> VolumeSettings {
        guard let settings = config.volume(named: volume) else {
            throw ControlFailure(message: "volume \(volume) is not in the agent's config", hint: "add a [[volume]] and reload (systemctl reload barge)")
        }
        return settings
    }

    func ownership(_ volume: String) throws -> Ownership {
        let settings = try settings(volume)
        return try store.index.ownership(of: volume) ?? Ownership(volume: volume, owner: settings.owner, epoch: 1)
    }

    /// The standby copy's place: beside the volume, on its file system, in a
    /// root-only directory so nothing else can write to it.
    static func standbyPath(for volume: VolumeSettings) -> String {
        (volume.path as NSString).deletingLastPathComponent + "/.barge-standby/" + volume.name
    }

    func transfer(_ snapshot: StoredSnapshot, to peerName: String) async -> PeerTransfer {
        let volume = snapshot.record.volume
        guard let peer = config.peer(named: peerName) else {
            return PeerTransfer(peer: peerName, ok: false, error: "no [[peer]] named \(peerName) in the config", alreadyThere: false,
                                bytesSent: 0, bytesReceived: 0, chunksRaw: 0, chunksDelta: 0, trees: 0, seconds: 0)
        }
        do {
            let outcome = try await PeerDialer(core: self).withSession(to: peer) { channel in
                try await SnapshotSender(store: self.store, bandwidthLimit: peer.bandwidthLimit).send(snapshot, owner: self.node, on: channel)
            }
            try store.index.recordAck(ReplicaAck(volume: volume, peer: peerName, snapshot: snapshot.id,
                                                 snapshotTimeNanoseconds: snapshot.record.timeNanoseconds,
                                                 ackedNanoseconds: Clock.nowNanoseconds(), bytesSent: outcome.bytesSent))
            metrics.sent(volume: volume, peer: peerName, bytes: outcome.bytesSent, received: outcome.bytesReceived)
            metrics.lag(volume: volume, peer: peerName, seconds: 0, bytes: 0)
            logger.info("replicated", metadata: ["volume": "\(volume)", "peer": "\(peerName)", "snapshot": "\(snapshot.id.short)",
                                                 "bytes_sent": "\(outcome.bytesSent)", "chunks_delta": "\(outcome.chunksDelta)",
                                                 "chunks_raw": "\(outcome.chunksStored)", "seconds": "\(outcome.seconds)"])
            noteError(volume, nil)
            noteTransfer(volume, to: peerName, failure: nil)
            return PeerTransfer(peer: peerName, ok: true, error: nil, alreadyThere: outcome.alreadyThere, bytesSent: outcome.bytesSent,
                                bytesReceived: outcome.bytesReceived, chunksRaw: outcome.chunksStored, chunksDelta: outcome.chunksDelta,
                                trees: outcome.trees, seconds: outcome.seconds)
        } catch {
            if case let .peer(refusal)? = error as? ReplicationError, refusal.code == .staleEpoch || refusal.code == .notOwner {
                // A member knows of a newer owner: maybe this node was failed over while cut off.
                Task { await self.checkOwnership(volume) }
            }
            metrics.error("replication")
            logger.error("replication of \(volume) to \(peerName) failed: \(error)")
            let failure = TransferFailure(error, volume: volume, peer: peerName)
            noteTransfer(volume, to: peerName, failure: failure)
            return PeerTransfer(peer: peerName, ok: false, error: failure.message, hint: failure.hint, alreadyThere: false,
                                bytesSent: 0, bytesReceived: 0, chunksRaw: 0, chunksDelta: 0, trees: 0, seconds: 0)
        }
    }
}
