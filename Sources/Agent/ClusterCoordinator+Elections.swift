import AgentConfig
import Cluster
import Etcd
import Foundation
import Ownership
import Repository

/// The periodic sweep: publish what this node could come up with, learn every
/// owner record, re-bind this node's records to its current lease, and hold
/// elections for volumes whose owner record is gone.
extension ClusterCoordinator {
    func sweepLoop() async {
        while !Task.isCancelled {
            await sweep()
            // Whichever comes first: a nudge, or a TTL's time.
            let deadline = Self.now() + UInt64(settings.leaseTTLSeconds) * 1_000_000_000
            while !Task.isCancelled && Self.now() < deadline && !state.withLock({ state in defer { state.nudged = false }; return state.nudged }) {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// How long a record naming this node waits for the move that made it.
    static let handOverGrace: UInt64 = 15_000_000_000

    /// Whether this node can prove its lease right now (starting anything needs that).
    var leaseAlive: (lease: Int64, alive: Bool)? {
        state.withLock { state in state.lease.map { ($0, !state.leaseGuard.mustFence(now: Self.now())) } }
    }

    func sweep() async {
        guard let (lease, alive) = leaseAlive, alive else { return }
        await publishHeld()
        do {
            let owners = try await client.range(prefix: keys.owners)
            let nodes = try await client.range(prefix: keys.nodes)
            count(2)
            let alive = Set(nodes.values.compactMap { keys.name(in: $0.key, below: keys.nodes) })
            let records = Dictionary(owners.values.compactMap { kv in keys.name(in: kv.key, below: keys.owners).map { ($0, kv) } },
                                     uniquingKeysWith: { first, _ in first })
            for volume in core.config.volumes where volume.members.contains(core.node) {
                if let kv = records[volume.name] {
                    await learnOwner(volume.name, kv, lease: lease)
                } else {
                    await elect(volume, alive: alive, lease: lease)
                }
            }
        } catch {
            logger.warning("etcd sweep: \(error)")
        }
    }

    /// An owner record from etcd; its mod_revision is the fencing token.
    func learnOwner(_ volume: String, _ kv: EtcdKeyValue, lease: Int64? = nil) async {
        guard let settings = core.config.volume(named: volume), settings.members.contains(core.node) else { return }
        let owner: OwnerValue
        do { owner = try OwnerValue.decode(kv.value) } catch {
            logger.error("owner record of \(volume) in etcd refused: \(error)")
            return
        }
        let record = OwnerRecord(owner: owner.owner, epoch: OwnerValue.token(modRevision: kv.modRevision))
        if owner.owner != core.node {
            state.withLock { _ = $0.pendingOwn.removeValue(forKey: volume) }
            // Known already (every sweep sees the record again): nothing to learn, so no wait for the
            // volume, which a transfer from that owner may hold; the sweep must go on to elections.
            if let known = try? core.ownership(volume), !OwnerRecord(owner: known.owner, epoch: known.epoch).isSuperseded(by: record) { return }
            core.cutReceptions(volume, except: owner.owner, because: "etcd names \(owner.owner) the owner")
        }
        guard let (current, alive) = leaseAlive else { return }
        if owner.owner == core.node && kv.lease != current {
            // This node's record from an earlier lease (a restart): bind it to this one, at a new token.
            guard alive else { return }
            await reclaim(settings, kv, lease: lease ?? current)
            return
        }
        do {
            try await core.locks.withLock(volume) {
                if owner.owner == core.node {
                    guard alive else { return }
                    if try core.ownershipState(settings).record.epoch < record.epoch {
                        // A higher token under this lease: this node's own campaign or claim, or a migration's hand-over,
                        // carries it out. Should that never come (a source that died after the hand-over point), come up alone.
                        let now = Self.now()
                        let since = state.withLock { state in
                            if let since = state.pendingOwn[volume] { return since }
                            state.pendingOwn[volume] = now
                            return now
                        }
                        guard now - since > Self.handOverGrace else { return }
                        logger.warning("\(volume): etcd names this node owner at token \(record.epoch) and nobody finished the hand-over; coming up")
                    }
                    state.withLock { _ = $0.pendingOwn.removeValue(forKey: volume) }
                    try await core.decide(settings) { $0.leaseRestored(current: record) }
                } else {
                    try await core.decide(settings) { $0.learn(record) }
                }
            }
        } catch {
            logger.error("applying the owner record of \(volume) (\(record)): \(error)")
            core.noteError(volume, "\(error)")
        }
    }

    private func reclaim(_ volume: VolumeSettings, _ kv: EtcdKeyValue, lease: Int64) async {
        do {
            let result = try await client.txn(compare: [.modRevision(key: kv.key, .equal, kv.modRevision)],
                                              success: [.put(key: kv.key, value: kv.value, lease: lease)], failure: [])
            count()
            guard result.succeeded else { return nudge() }
            let token = OwnerValue.token(modRevision: result.header.revision)
            logger.notice("owner record re-bound to this node's lease", metadata: ["volume": "\(volume.name)", "token": "\(token)"])
            try await takeOwnership(volume, token: token, kind: "reclaimed")
        } catch {
            logger.error("re-binding the owner record of \(volume.name): \(error)")
        }
    }

    /// No owner record: the member with the newest copy campaigns. At a new
    /// cluster nobody holds a snapshot yet, and the owner of record claims it.
    private func elect(_ volume: VolumeSettings, alive: Set<String>, lease: Int64) async {
        do {
            let known = try core.ownership(volume.name)
            let held = try await client.range(prefix: keys.held(volume.name))
            count()
            let candidates = held.values.compactMap { kv -> Election.Candidate? in
                guard let value = try? HeldSnapshot.decode(kv.value), keys.name(in: kv.key, below: keys.held(volume.name)) == value.node else { return nil }
                return Election.Candidate(held: value, revision: kv.modRevision)
            }
            let election = Election(volume: volume.name, members: volume.members, alive: alive, held: candidates)
            switch election.outcome(for: core.node) {
            case .campaign:
                guard volume.autoFailover || known.owner == core.node else { return }
            case .ineligible where election.winner == nil && known.owner == core.node && candidates.isEmpty:
                break   // a new cluster: the owner of record claims it
            case .ineligible, .wait:
                return
            }
            var compare: [EtcdCompare] = [.createRevision(key: keys.owner(volume.name), .equal, 0)]
            for member in volume.members {
                let revision = election.candidates.first { $0.held.node == member }?.revision ?? 0
                compare.append(.modRevision(key: keys.held(volume.name, by: member), .equal, revision))
            }
            let result = try await client.txn(compare: compare, success: [.put(key: keys.owner(volume.name), value: OwnerValue(owner: core.node).encoded(),
                                                                               lease: lease)], failure: [])
            count()
            guard result.succeeded else { return }
            try await takeOwnership(volume, token: OwnerValue.token(modRevision: result.header.revision), kind: known.owner == core.node ? "claimed" : "elected")
        } catch {
            logger.error("election for \(volume.name): \(error)")
            core.noteError(volume.name, "election: \(error)")
        }
    }

    /// This node holds the owner record at `token`: carry out the state
    /// machine's decision; if it cannot (no promotable copy), give the record up.
    private func takeOwnership(_ volume: VolumeSettings, token: UInt64, kind: String) async throws {
        let before = try core.ownershipState(volume)
        core.cutReceptions(volume.name, because: "this node holds the owner record at token \(token)")
        do {
            _ = try await core.locks.withLock(volume.name) { try await core.decide(volume) { $0.elected(token: token) } }
        } catch {
            logger.error("\(volume.name): won the owner record at token \(token) but cannot come up: \(error); giving it up")
            core.noteError(volume.name, "won the owner record at token \(token) but could not come up: \(error)")
            _ = try? await client.txn(compare: [.modRevision(key: keys.owner(volume.name), .equal, OwnerValue.modRevision(token: token) ?? 0)],
                                      success: [.delete(key: keys.owner(volume.name))], failure: [])
            count()
            throw error
        }
        guard !before.ownedHere else { return }
        let promoted = core.promotedAt.withLock { $0[volume.name]?.snapshot }
        let snapshot = try promoted.flatMap { try core.store.index.snapshot($0) }
        let loss = snapshot.map { max(0, Date().timeIntervalSince1970 - Double($0.record.timeNanoseconds) / 1e9) } ?? 0
        let event = ClusterEvent(volume: volume.name, kind: kind, owner: core.node, previousOwner: before.record.owner, token: token,
                                 snapshot: snapshot?.id.hex ?? "", dataLossSeconds: loss, atNanoseconds: Clock.nowNanoseconds())
        logger.notice("took the volume over", metadata: ["volume": "\(volume.name)", "token": "\(token)", "from": "\(before.record.owner)",
                                                         "snapshot": "\(snapshot?.id.short ?? "-")", "data_loss_s": "\(loss)"])
        core.metrics.tookOver(volume: volume.name, dataLossSeconds: loss)
        _ = try? await client.put(keys.event(volume.name, token: token), event.encoded())
        count()
    }

    /// Puts each volume's held snapshot when it changed: the owner's newest
    /// snapshot (live data), a replica's complete standby copy.
    func publishHeld() async {
        guard let lease = state.withLock({ $0.lease }) else { return }
        for volume in core.config.volumes where volume.members.contains(core.node) {
            guard let held = try? heldSnapshot(volume) else { continue }
            guard state.withLock({ $0.published[volume.name] }) != held else { continue }
            do {
                _ = try await client.put(keys.held(volume.name, by: core.node), held.encoded(), lease: lease)
                count()
                state.withLock { $0.published[volume.name] = held }
            } catch {
                logger.warning("publishing what \(core.node) holds of \(volume.name): \(error)")
            }
        }
    }

    private func heldSnapshot(_ volume: VolumeSettings) throws -> HeldSnapshot? {
        let known = try core.ownership(volume.name)
        let id: BlobID?
        if known.owner == core.node {
            id = try core.store.snapshots(volume: volume.name).last { $0.record.state == "complete" }?.id
        } else {
            let standby = try core.store.index.standby(of: volume.name)
            id = standby?.updating == nil ? standby?.snapshot : nil
        }
        guard let id, let snapshot = try core.store.index.snapshot(id) else { return nil }
        return HeldSnapshot(node: core.node, snapshot: id.hex, epoch: snapshot.record.epoch, timeNanoseconds: snapshot.record.timeNanoseconds,
                            live: known.owner == core.node)
    }
}
