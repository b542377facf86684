import AgentConfig
import Control
import Foundation
import Ownership
import Replication
import Repository
import Snapshots
import Wire

/// A step of an ownership plan that failed; the steps before it were carried out.
struct OwnershipStepFailure: Error, CustomStringConvertible {
    let action: OwnershipAction
    let underlying: any Error
    var description: String { "\(underlying)" }
}

/// The agent's side of the ownership state machine: it builds a volume's
/// `VolumeOwnership` from the index and the container it runs, asks it for a
/// decision, and carries the actions out. No ownership rule lives here.
extension AgentCore {
    func ownershipState(_ volume: VolumeSettings) throws -> VolumeOwnership {
        let known = try ownership(volume.name)
        let container: ContainerState = suspended.withLock { $0.contains(volume.name) } ? .suspended
            : containers.isRunning(volume.name) == true ? .running : .stopped
        return VolumeOwnership(volume: volume.name, node: node, members: volume.members,
                               record: OwnerRecord(owner: known.owner, epoch: known.epoch), container: container)
    }

    /// Runs one transition on the volume's current state and carries out what it
    /// decided; a refusal is thrown as it is. The caller holds the volume's lock.
    @discardableResult
    func decide(_ volume: VolumeSettings, _ transition: (inout VolumeOwnership) -> OwnershipDecision) async throws -> VolumeOwnership {
        var state = try ownershipState(volume)
        let decision = transition(&state)
        try await carryOut(decision, for: volume)
        // The agent remembers what the state machine calls suspended; the container set says the rest.
        suspended.withLock { set in
            if state.container == .suspended { _ = set.insert(volume.name) } else { _ = set.remove(volume.name) }
        }
        return state
    }

    /// Carries out the actions in order. A step that must succeed and fails
    /// stops the plan (thrown as OwnershipStepFailure); one that may fail is
    /// logged and kept as the volume's last error.
    func carryOut(_ decision: OwnershipDecision, for volume: VolumeSettings) async throws {
        if let refusal = decision.refusal { throw refusal }
        var diverged: BlobID?
        for action in decision.actions {
            do {
                try await perform(action, for: volume, diverged: &diverged)
            } catch {
                guard action.mayFail else { throw OwnershipStepFailure(action: action, underlying: error) }
                logger.error("\(volume.name): \(action) failed: \(error); going on")
                noteError(volume.name, "\(action) failed: \(error)")
            }
        }
    }

    private func perform(_ action: OwnershipAction, for volume: VolumeSettings, diverged: inout BlobID?) async throws {
        switch action {
        case let .record(record):
            let stored = try store.index.raiseOwnership(Ownership(volume: volume.name, owner: record.owner, epoch: record.epoch))
            guard stored.owner == record.owner, stored.epoch == record.epoch else {
                throw MoveError("\(volume.name) is now owned by \(stored.owner) at epoch \(stored.epoch); \(record) came too late")
            }
            logger.notice("ownership recorded", metadata: ["volume": "\(volume.name)", "owner": "\(record.owner)", "epoch": "\(record.epoch)"])
        case let .stopContainer(epoch, _):
            try await stopContainer(volume, epoch: epoch)
        case let .startContainer(epoch, _):
            try await startContainer(volume, epoch: epoch)
        case let .keepDiverged(epoch):
            guard FileManager.default.fileExists(atPath: volume.path) else { return }
            let store = self.store, node = self.node, name = volume.name
            diverged = try await Blocking.run {
                try SnapshotEngine(stateDirectory: store.directory, nodeName: node).snapshot(volume: name, in: store, epoch: epoch, state: "diverged")
            }.id
            noteError(volume.name, "fenced; local state kept as diverged snapshot \(diverged!.short)")
        case let .demote(data):
            let snapshot: BlobID?
            switch data {
            case .diverged: snapshot = diverged
            case let .snapshot(hex): snapshot = BlobID(hex: hex)
            case .newestComplete: snapshot = try store.snapshots(volume: volume.name).last(where: { $0.record.state == "complete" })?.id
            }
            guard let snapshot else { return }   // nothing live to move
            try demote(volume, as: snapshot)
        case let .bringStandby(to: hex):
            let state = try store.index.standby(of: volume.name)
            if let hex {
                guard let wanted = BlobID(hex: hex), try store.index.snapshot(wanted) != nil else {
                    throw MoveError("\(node) does not hold snapshot \(hex.prefix(12)) of \(volume.name)")
                }
                guard await updateStandbyLocked(volume.name), try store.index.standby(of: volume.name)?.snapshot == wanted else {
                    throw MoveError("\(node) has no complete standby copy of snapshot \(wanted.short) of \(volume.name)")
                }
            } else if state?.snapshot == nil || state?.updating != nil {
                // A copy cut short, or none yet: build it from the newest snapshot here first.
                await updateStandbyLocked(volume.name)
            }
        case .checkPromotable:
            try checkPromotable(volume)
        case let .promote(onlyIf):
            if let onlyIf, try store.index.standby(of: volume.name)?.snapshot?.hex != onlyIf { return }
            _ = try promote(volume)
        case let .notifyMembers(record, except):
            await notifyMembers(volume, owner: record.owner, epoch: record.epoch, except: Set(except))
        case let .sendAbort(target, epoch):
            // An abort names no snapshot: the target moves back only a copy it promoted itself.
            let none = BlobID.of(.chunk, []).wire
            _ = try? await ask(target, .handover(volume: volume.name, snapshot: none, epoch: epoch, phase: .abort), deadline: .seconds(10))
        case let .recordAck(peer, hex):
            guard let id = BlobID(hex: hex), let final = try store.index.snapshot(id) else { return }
            try store.index.recordAck(ReplicaAck(volume: volume.name, peer: peer, snapshot: final.id,
                                                 snapshotTimeNanoseconds: final.record.timeNanoseconds,
                                                 ackedNanoseconds: Clock.nowNanoseconds(), bytesSent: 0))
        }
    }
}
