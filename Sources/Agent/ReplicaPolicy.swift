import AgentConfig
import Logging
import Ownership
import Replication
import Repository
import Wire

/// A replica takes a snapshot only from the volume's owner as it knows it, at
/// an epoch no lower than the one it knows (the rules are VolumeOwnership's).
/// A higher epoch from the named owner is a hand-over this node missed: it is recorded.
struct ReplicaPolicy: OfferPolicy {
    let node: String
    let config: AgentConfiguration
    let index: Index
    let logger: Logger

    func admit(volume: String, from peer: String, owner: String, epoch: UInt64) throws(WireError) {
        guard let settings = config.volume(named: volume), settings.members.contains(node) else {
            throw WireError(.unknownVolume, "volume \(volume) is not configured on \(node) as owned or replicated here")
        }
        let known: Ownership
        do {
            known = try index.ownership(of: volume) ?? Ownership(volume: volume, owner: settings.owner, epoch: 1)
        } catch {
            throw WireError(.storage, "\(node) cannot read its ownership record for \(volume): \(error)")
        }
        // Whether a container runs does not matter to an offer's admission.
        var state = VolumeOwnership(volume: volume, node: node, members: settings.members,
                                    record: OwnerRecord(owner: known.owner, epoch: known.epoch), container: .stopped)
        switch state.admitOffer(from: peer, owner: owner, epoch: epoch) {
        case let .refuse(refusal):
            throw WireError(refusal.code == .staleEpoch ? .staleEpoch : .notOwner, refusal.message)
        case let .act(actions):
            for case let .record(record) in actions {
                let stored: Ownership
                do {
                    stored = try index.raiseOwnership(Ownership(volume: volume, owner: record.owner, epoch: record.epoch))
                } catch {
                    throw WireError(.storage, "\(node) cannot record epoch \(record.epoch) for \(volume): \(error)")
                }
                guard stored.owner == record.owner, stored.epoch == record.epoch else {
                    throw WireError(.staleEpoch, "\(node) knows \(volume) at epoch \(stored.epoch) (owner \(stored.owner)) now; \(peer) offered epoch \(epoch)")
                }
                logger.notice("ownership advanced by the owner's offer", metadata: ["volume": "\(volume)", "owner": "\(record.owner)", "epoch": "\(record.epoch)"])
            }
        }
    }
}
