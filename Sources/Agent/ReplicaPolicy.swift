import AgentConfig
import Logging
import Replication
import Repository
import Wire

/// A replica takes a snapshot only from the volume's owner as it knows it, at
/// an epoch no lower than the one it knows. A higher epoch from the named
/// owner is a hand-over this node missed: it is recorded.
struct ReplicaPolicy: OfferPolicy {
    let node: String
    let config: AgentConfiguration
    let index: Index
    let logger: Logger

    func admit(volume: String, from peer: String, owner: String, epoch: UInt64) throws(WireError) {
        guard let settings = config.volume(named: volume), settings.members.contains(node) else {
            throw WireError(.unknownVolume, "volume \(volume) is not configured on \(node) as owned or replicated here")
        }
        guard owner == peer else {
            throw WireError(.notOwner, "\(peer) offered \(volume) in the name of \(owner); only the owner may offer")
        }
        let known: Ownership
        do {
            known = try index.ownership(of: volume) ?? Ownership(volume: volume, owner: settings.owner, epoch: 1)
        } catch {
            throw WireError(.storage, "\(node) cannot read its ownership record for \(volume): \(error)")
        }
        if epoch < known.epoch {
            throw WireError(.staleEpoch, "\(node) knows \(volume) at epoch \(known.epoch) (owner \(known.owner)); \(peer) offered epoch \(epoch)")
        }
        if epoch == known.epoch {
            guard known.owner == peer else {
                throw WireError(.notOwner, "\(node) knows \(known.owner) as the owner of \(volume) at epoch \(epoch), not \(peer)")
            }
            return
        }
        guard known.owner != node else {
            // Becoming a replica of a volume this node owns is fencing (a later step); refuse for now.
            throw WireError(.notOwner, "\(node) owns \(volume) at epoch \(known.epoch); \(peer) claims epoch \(epoch): refusing until fenced")
        }
        do {
            try index.raiseOwnership(Ownership(volume: volume, owner: peer, epoch: epoch))
            logger.notice("ownership advanced by the owner's offer", metadata: ["volume": "\(volume)", "owner": "\(peer)", "epoch": "\(epoch)"])
        } catch {
            throw WireError(.storage, "\(node) cannot record epoch \(epoch) for \(volume): \(error)")
        }
    }
}
