import AgentConfig
import Foundation
import Replication
import Repository
import Wire
import Replication

/// The target's side of ownership messages: questions, notices and the
/// two-step hand-over of a migration.
struct HandoverHandler {
    let core: AgentCore
    /// The authenticated peer that sent the message.
    let peer: String

    func answer(_ message: Message) async throws -> Message {
        switch message {
        case let .queryOwnership(volume):
            return try state(of: try settings(volume))
        case let .ownership(volume, owner, epoch, _):
            let settings = try settings(volume)
            try await core.locks.withLock(volume) { try await learn(settings, owner: owner, epoch: epoch) }
            return try state(of: settings)
        case let .handover(volume, snapshot, epoch, phase):
            let settings = try settings(volume)
            try await core.locks.withLock(volume) { try await handover(settings, snapshot: BlobID(snapshot), epoch: epoch, phase: phase) }
            return .handoverDone(volume: volume, epoch: epoch, phase: phase)
        default:
            throw ReplicationError.fail(.unexpectedMessage, "\(message.kind) is not a request")
        }
    }

    private func settings(_ volume: String) throws -> VolumeSettings {
        guard let settings = core.config.volume(named: volume), settings.members.contains(core.node) else {
            throw ReplicationError.fail(.unknownVolume, "volume \(volume) is not configured on \(core.node)")
        }
        return settings
    }

    private func state(of volume: VolumeSettings) throws -> Message {
        let known = try core.ownership(volume.name)
        let standby = try core.store.index.standby(of: volume.name)
        return .ownership(volume: volume.name, owner: known.owner, epoch: known.epoch,
                          standby: standby?.updating == nil ? standby?.snapshot?.wire : nil)
    }

    /// A notice of a higher epoch: fence if this node thought it owned the volume.
    private func learn(_ volume: VolumeSettings, owner: String, epoch: UInt64) async throws {
        let known = try core.ownership(volume.name)
        guard epoch > known.epoch else { return }
        guard volume.members.contains(owner) else {
            throw ReplicationError.fail(.notOwner, "\(owner) is not a member of \(volume.name)")
        }
        if known.owner == core.node {
            try await core.fence(volume, owner: owner, epoch: epoch)
        } else {
            try core.store.index.raiseOwnership(Ownership(volume: volume.name, owner: owner, epoch: epoch))
        }
    }

    private func handover(_ volume: VolumeSettings, snapshot: BlobID, epoch: UInt64, phase: HandoverPhase) async throws {
        let known = try core.ownership(volume.name)
        switch phase {
        case .prepare:
            if known.owner == core.node && known.epoch == epoch { return }   // a retried prepare
            guard known.owner == peer, epoch == known.epoch + 1 else {
                throw ReplicationError.fail(.notOwner, "\(core.node) knows \(known.owner) at epoch \(known.epoch); \(peer) cannot hand over epoch \(epoch)")
            }
            guard try core.store.index.snapshot(snapshot) != nil, await core.updateStandbyLocked(volume.name),
                  try core.store.index.standby(of: volume.name)?.snapshot == snapshot else {
                throw ReplicationError.fail(.notReady, "\(core.node) has no complete standby copy of snapshot \(snapshot.short) of \(volume.name)")
            }
            // Everything that could refuse the promotion is checked before ownership is recorded.
            do { try core.checkPromotable(volume) } catch { throw ReplicationError.fail(.notReady, "\(error)") }
            try core.store.index.raiseOwnership(Ownership(volume: volume.name, owner: core.node, epoch: epoch))
            do { _ = try core.promote(volume) } catch {
                throw ReplicationError.fail(.storage, "\(error)")
            }
        case .commit:
            guard known.owner == core.node, known.epoch == epoch else {
                throw ReplicationError.fail(.notOwner, "\(core.node) does not own \(volume.name) at epoch \(epoch) (it knows \(known.owner) at \(known.epoch))")
            }
            do { try await core.startContainer(volume, epoch: epoch) } catch {
                throw ReplicationError.fail(.hookFailed, "\(error)")
            }
            // The source keeps the final snapshot as its standby: it is a replica that is up to date.
            if let final = try core.store.index.snapshot(snapshot) {
                try core.store.index.recordAck(ReplicaAck(volume: volume.name, peer: peer, snapshot: final.id,
                                                          snapshotTimeNanoseconds: final.record.timeNanoseconds,
                                                          ackedNanoseconds: Clock.nowNanoseconds(), bytesSent: 0))
            }
        case .abort:
            // Only a copy this node promoted for that epoch, never started, goes back; the
            // source raises the epoch next. A standby copy still in place means no promotion
            // happened, and whatever sits at the path is not ours to move.
            guard known.owner == core.node, known.epoch == epoch, core.containers.isRunning(volume.name) != true,
                  try core.store.index.standby(of: volume.name)?.snapshot == nil,
                  let promoted = try core.store.snapshots(volume: volume.name).last(where: { $0.record.state == "complete" }) else { return }
            try core.demote(volume, as: promoted.id)
        }
    }
}
