import AgentConfig
import Foundation
import Ownership
import Replication
import Repository
import Wire

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
        try await carry(volume) { $0.learn(OwnerRecord(owner: owner, epoch: epoch)) }
    }

    private func handover(_ volume: VolumeSettings, snapshot: BlobID, epoch: UInt64, phase: HandoverPhase) async throws {
        let peer = self.peer
        switch phase {
        case .prepare:
            try await carry(volume) { $0.prepareHandover(from: peer, epoch: epoch, snapshot: snapshot.hex) }
        case .commit:
            try await carry(volume) { $0.commitHandover(from: peer, epoch: epoch, snapshot: snapshot.hex) }
        case .abort:
            let standbyInPlace = try core.store.index.standby(of: volume.name)?.snapshot != nil
            try await carry(volume) { $0.abortHandover(epoch: epoch, standbyInPlace: standbyInPlace) }
        }
    }

    /// Carries out a transition for a peer: refusals and failed steps become error frames.
    private func carry(_ volume: VolumeSettings, _ transition: (inout VolumeOwnership) -> OwnershipDecision) async throws {
        do {
            try await core.decide(volume, transition)
        } catch let refusal as OwnershipRefusal {
            throw ReplicationError.fail(refusal.code == .staleEpoch ? .staleEpoch : .notOwner, refusal.message)
        } catch let failure as OwnershipStepFailure {
            switch failure.action {
            case .bringStandby, .checkPromotable: throw ReplicationError.fail(.notReady, "\(failure)")
            case .startContainer, .stopContainer: throw ReplicationError.fail(.hookFailed, "\(failure)")
            default: throw ReplicationError.fail(.storage, "\(failure)")
            }
        }
    }
}
