/// The ownership rules of one volume as seen from one node, with no I/O: each
/// transition takes what the agent observed and returns the steps to carry
/// out (or a refusal, which changes nothing). The agent builds the value from
/// its persisted record and container state, calls one transition, and
/// carries out the actions in order; `record` then holds what the store will
/// hold once the plan's `record` step has run.
///
/// The invariant every transition keeps: this node runs the container only
/// while its record names it owner, and a record only gives way to a higher
/// epoch (the fencing token).
public struct VolumeOwnership: Sendable, Hashable {
    public let volume: String
    public let node: String
    public let members: [String]
    public private(set) var record: OwnerRecord
    public private(set) var container: ContainerState

    public init(volume: String, node: String, members: [String], record: OwnerRecord, container: ContainerState) {
        self.volume = volume
        self.node = node
        self.members = members
        self.record = record
        self.container = container
    }

    public var ownedHere: Bool { record.owner == node }

    // MARK: a replica's side

    /// A snapshot offer from `peer`, made in the name of `owner` at `epoch`.
    /// A higher epoch from the named owner is a hand-over this node missed.
    public mutating func admitOffer(from peer: String, owner: String, epoch: UInt64) -> OwnershipDecision {
        guard members.contains(node) else {
            return .refuse(OwnershipRefusal(.notMember, "volume \(volume) is not configured on \(node) as owned or replicated here"))
        }
        guard owner == peer else {
            return .refuse(OwnershipRefusal(.notOwner, "\(peer) offered \(volume) in the name of \(owner); only the owner may offer"))
        }
        guard members.contains(peer) else {
            return .refuse(OwnershipRefusal(.notMember, "\(peer) is not a member of \(volume) on \(node)"))
        }
        if epoch < record.epoch {
            return .refuse(OwnershipRefusal(.staleEpoch, "\(node) knows \(volume) at epoch \(record.epoch) (owner \(record.owner)); \(peer) offered epoch \(epoch)"))
        }
        if epoch == record.epoch {
            guard record.owner == peer else {
                return .refuse(OwnershipRefusal(.notOwner, "\(node) knows \(record.owner) as the owner of \(volume) at epoch \(epoch), not \(peer)"))
            }
            return .nothing
        }
        guard !ownedHere else {
            // This node must fence first (stop, keep its writes); a notice or the survey does that.
            return .refuse(OwnershipRefusal(.notOwner, "\(node) owns \(volume) at epoch \(record.epoch); \(peer) claims epoch \(epoch): refusing until fenced"))
        }
        record = OwnerRecord(owner: peer, epoch: epoch)
        return .act([.record(record)])
    }

    /// A record learned from a member's notice, a survey or the cluster store.
    /// A higher epoch for a volume this node owns fences it: the record first
    /// (so it stops acting as owner), then the container, then its writes kept.
    public mutating func learn(_ learned: OwnerRecord) -> OwnershipDecision {
        guard record.isSuperseded(by: learned) else { return .nothing }
        // The cluster store names this node at a higher token: an election it won.
        if learned.owner == node { return elected(token: learned.epoch) }
        guard members.contains(learned.owner) else {
            return .refuse(OwnershipRefusal(.notMember, "\(learned.owner) is not a member of \(volume)"))
        }
        let old = record
        record = learned
        guard old.owner == node else { return .act([.record(learned)]) }
        container = .stopped
        // A failed stop must not keep the new owner's record out: the rest runs regardless.
        return .act([.record(learned), .stopContainer(epoch: old.epoch, mustSucceed: false),
                     .keepDiverged(epoch: old.epoch), .demote(as: .diverged)])
    }

    // MARK: a migration's target

    /// The owner hands the volume over at `epoch`: promote the standby copy,
    /// which must equal the final snapshot; the container starts at commit.
    public mutating func prepareHandover(from peer: String, epoch: UInt64, snapshot: String) -> OwnershipDecision {
        if record == OwnerRecord(owner: node, epoch: epoch) { return .nothing }   // a retried prepare
        guard record.owner == peer, epoch > record.epoch else {
            return .refuse(OwnershipRefusal(.notOwner, "\(node) knows \(record.owner) at epoch \(record.epoch); \(peer) cannot hand over epoch \(epoch)"))
        }
        record = OwnerRecord(owner: node, epoch: epoch)
        // Everything that could refuse the promotion is checked before ownership is recorded.
        return .act([.bringStandby(to: snapshot), .checkPromotable, .record(record), .promote(onlyIf: nil)])
    }

    public mutating func commitHandover(from peer: String, epoch: UInt64, snapshot: String) -> OwnershipDecision {
        guard record == OwnerRecord(owner: node, epoch: epoch) else {
            return .refuse(OwnershipRefusal(.notOwner, "\(node) does not own \(volume) at epoch \(epoch) (it knows \(record))"))
        }
        container = .running
        // The source keeps the final snapshot as its standby: it is a replica that is up to date.
        return .act([.startContainer(epoch: epoch, mustSucceed: true), .recordAck(peer: peer, snapshot: snapshot)])
    }

    /// The source gave up before the hand-over point. Only a copy promoted for
    /// that epoch and never started goes back; the source raises the epoch next.
    /// `standbyInPlace`: the standby copy was never moved, so nothing was promoted.
    public mutating func abortHandover(epoch: UInt64, standbyInPlace: Bool) -> OwnershipDecision {
        guard record == OwnerRecord(owner: node, epoch: epoch), container != .running, !standbyInPlace else { return .nothing }
        return .act([.demote(as: .newestComplete)])
    }

    // MARK: a migration's source

    public func checkMigration(to target: String) -> OwnershipRefusal? {
        guard ownedHere else {
            return OwnershipRefusal(.notOwner, "\(node) is not the owner of \(volume) (owner \(record.owner), epoch \(record.epoch))",
                                    hint: "a migration starts on the owner: run this on \(record.owner)")
        }
        guard target != node else { return OwnershipRefusal(.invalid, "\(node) already owns \(volume); name the node to move it to") }
        guard members.contains(target) else {
            return OwnershipRefusal(.notMember, "\(target) is not a member of \(volume) (members: \(members.joined(separator: ", ")))",
                                    hint: "choose one of its replicas")
        }
        return nil
    }

    /// The epoch a hand-over proposes when no cluster store issues tokens.
    public var nextEpoch: UInt64 { record.epoch + 1 }

    /// The target prepared at `epoch`: the hand-over point. The live data, equal
    /// to the final snapshot (the container is stopped), becomes the standby copy.
    public mutating func handedOver(to target: String, epoch: UInt64, final: String) -> OwnershipDecision {
        guard ownedHere, epoch > record.epoch else {
            return .refuse(OwnershipRefusal(.notOwner, "\(node) cannot hand \(volume) over at epoch \(epoch): it knows \(record)"))
        }
        record = OwnerRecord(owner: target, epoch: epoch)
        container = .stopped
        return .act([.record(record), .demote(as: .snapshot(final))])
    }

    /// The migration failed before the hand-over point: the target gives its copy
    /// back, this node takes an epoch above any the target may have recorded
    /// (`proposed`) and restarts the container.
    /// With a cluster store, `token` is the one its take-back transaction issued.
    public mutating func rollBackMigration(target: String, proposed: UInt64, token: UInt64? = nil) -> OwnershipDecision {
        guard ownedHere else { return .nothing }
        let epoch = max(record.epoch, proposed) + 1
        guard token.map({ $0 >= epoch }) ?? true else {
            return .refuse(OwnershipRefusal(.staleEpoch, "a take-back of \(volume) at token \(token!) is not above the proposed epoch \(proposed)"))
        }
        record = OwnerRecord(owner: node, epoch: token ?? epoch)
        container = .running
        return .act([.sendAbort(to: target, epoch: proposed), .record(record), .notifyMembers(record, except: []),
                     .startContainer(epoch: record.epoch, mustSucceed: true)])
    }

    /// After the hand-over the target could not start the container: this node
    /// takes the volume back above the target's epoch, promotes the copy it just
    /// gave up (if it is still the final snapshot) and starts the container.
    public mutating func takeBack(from target: String, final: String, token: UInt64? = nil) -> OwnershipDecision {
        guard record.owner == target else {
            return .refuse(OwnershipRefusal(.notOwner, "\(node) cannot take \(volume) back from \(target): it knows \(record)"))
        }
        guard token.map({ $0 > record.epoch }) ?? true else {
            return .refuse(OwnershipRefusal(.staleEpoch, "a take-back of \(volume) at token \(token!) is not above \(record)"))
        }
        record = OwnerRecord(owner: node, epoch: token ?? record.epoch + 1)
        container = .running
        return .act([.record(record), .promote(onlyIf: final), .notifyMembers(record, except: []),
                     .startContainer(epoch: record.epoch, mustSucceed: true)])
    }

    // MARK: failover (on the node that takes the volume)

    /// Whether `failover` needs to know if the recorded owner still answers.
    public func failoverNeedsOwnerProbe(force: Bool) -> Bool { !force && !ownedHere }

    /// `ownerAnswer`: what the recorded owner said when asked (nil: no answer).
    /// `dataAtPath`: the volume's path holds data here (the copy is promoted).
    public mutating func failover(force: Bool, ownerAnswer: OwnerRecord?, dataAtPath: Bool) -> OwnershipDecision {
        guard members.contains(node) else { return .refuse(OwnershipRefusal(.notMember, "\(node) is not a member of \(volume)")) }
        if ownedHere {
            // Owned already (a hand-over whose start never came, or a restart that could not
            // reach any member): promote if that did not happen, then start.
            container = .running
            return .act((dataAtPath ? [] : [.promote(onlyIf: nil)]) + [.startContainer(epoch: record.epoch, mustSucceed: true)])
        }
        if !force, let ownerAnswer {
            return .refuse(OwnershipRefusal(.ownerAnswers, "the owner \(record.owner) still answers (it says: owner \(ownerAnswer.owner), epoch \(ownerAnswer.epoch)); refusing to fail over",
                                            hint: "move it on purpose with `barge migrate \(volume) --to \(node)` on \(record.owner); --force if you must"))
        }
        return takeOver(epoch: record.epoch + 1, notifyFirst: true)
    }

    /// This node becomes the owner at `epoch` of a volume whose owner is gone.
    /// By hand (`notifyFirst`) the members hear first, so an old owner that still
    /// answers fences itself before the container starts here; after an election
    /// the expired lease already fenced it, and a cut-off member must not delay
    /// the start. A start that fails leaves the volume owned here, stopped.
    private mutating func takeOver(epoch: UInt64, notifyFirst: Bool) -> OwnershipDecision {
        record = OwnerRecord(owner: node, epoch: epoch)
        container = .running
        let notify = OwnershipAction.notifyMembers(record, except: [])
        let start = OwnershipAction.startContainer(epoch: epoch, mustSucceed: false)
        return .act([.bringStandby(to: nil), .checkPromotable, .record(record), .promote(onlyIf: nil)]
                    + (notifyFirst ? [notify, start] : [start, notify]))
    }

    // MARK: at start

    /// Before starting a container it owns, this node asks the other members
    /// (`answered`: whether any did; `highest`: the highest record among
    /// theirs). Unconfirmed ownership keeps the container stopped.
    public mutating func reconcileAtStart(answered: Bool, highest: OwnerRecord?) -> OwnershipDecision {
        guard ownedHere else { return .nothing }
        if let highest, record.isSuperseded(by: highest) { return learn(highest) }
        guard answered || members.count == 1 else {
            return .refuse(OwnershipRefusal(.unconfirmed, "no other member of \(volume) answers, so \(node) cannot rule out a failover while it was down",
                                            hint: "it keeps asking; `barge failover \(volume) --to \(node)` starts it now if you know this node still owns it"))
        }
        container = .running
        return .act([.startContainer(epoch: record.epoch, mustSucceed: true)])
    }

    // MARK: under a cluster store's lease

    /// The owner can no longer prove its lease is alive: it stops its container
    /// before the lease can have expired on the store's side, and writes nothing.
    public mutating func leaseLost() -> OwnershipDecision {
        guard ownedHere, container != .suspended else { return .nothing }
        let wasRunning = container == .running
        container = .suspended
        return .act(wasRunning ? [.stopContainer(epoch: record.epoch, mustSucceed: false)] : [])
    }

    /// The lease is alive again and the store still names this node owner at
    /// `token`: a container this node suspended starts again under the same token.
    /// Any other record is learned (and fences).
    public mutating func leaseRestored(current: OwnerRecord) -> OwnershipDecision {
        guard current == record else {
            if container == .suspended { container = .stopped }
            return learn(current)
        }
        guard container == .suspended else { return .nothing }
        container = .running
        return .act([.startContainer(epoch: record.epoch, mustSucceed: true)])
    }

    /// This node won the election the store held after the owner's lease
    /// expired; `token` is the store's revision of that transaction.
    public mutating func elected(token: UInt64) -> OwnershipDecision {
        guard members.contains(node) else { return .refuse(OwnershipRefusal(.notMember, "\(node) is not a member of \(volume)")) }
        if record == OwnerRecord(owner: node, epoch: token) { return .nothing }   // carried out already
        guard token > record.epoch else {
            return .refuse(OwnershipRefusal(.staleEpoch, "\(node) knows \(volume) at \(record); an election at token \(token) is stale"))
        }
        if ownedHere { return learnOwnToken(token) }
        return takeOver(epoch: token, notifyFirst: false)
    }

    /// The store re-issued this node's own ownership at a higher token (its lease
    /// was renewed as a new record): same data, same owner, new fencing token.
    private mutating func learnOwnToken(_ token: UInt64) -> OwnershipDecision {
        record = OwnerRecord(owner: node, epoch: token)
        let restart: [OwnershipAction] = container == .suspended ? [.startContainer(epoch: token, mustSucceed: true)] : []
        if container == .suspended { container = .running }
        return .act([.record(record)] + restart)
    }

    /// May this node take snapshots and replicate them now?
    public var maySnapshot: OwnershipRefusal? {
        guard ownedHere else {
            return OwnershipRefusal(.notOwner, "\(node) is not the owner of \(volume) (owner \(record.owner), epoch \(record.epoch))",
                                    hint: "run this on \(record.owner)")
        }
        guard container != .suspended else {
            return OwnershipRefusal(.suspended, "\(node) has lost its lease on \(volume) and stopped writing it",
                                    hint: "it resumes when the cluster store answers again; `barge cluster status` shows the leases")
        }
        return nil
    }
}
