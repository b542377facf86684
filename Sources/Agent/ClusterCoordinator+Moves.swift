import AgentConfig
import Cluster
import Control
import Etcd
import Ownership

/// Moves by command under `[cluster]`: every change of owner is one etcd
/// transaction compared on the record's current revision, and the new
/// token is that transaction's revision.
extension ClusterCoordinator {
    /// The hand-over point of a migration: the record passes from this node
    /// (at `token`) to `target`, bound to the target's lease.
    func handOver(_ volume: String, at token: UInt64, to target: String) async throws -> UInt64 {
        guard let revision = OwnerValue.modRevision(token: token) else {
            throw MoveError("\(volume)'s epoch \(token) did not come from etcd", hint: "wait until the agent holds its owner record (`barge cluster status`)")
        }
        let node = try await client.get(keys.node(target))
        count()
        guard let targetLease = node.value?.lease, targetLease != 0 else {
            throw MoveError("\(target) holds no etcd lease: its agent is down or cannot reach etcd", hint: "`barge cluster status` lists the live members")
        }
        return try await swap(volume, expecting: revision, to: target, lease: targetLease)
    }

    /// Takes the record back from `token` (a migration that failed after its
    /// hand-over point) for this node, under its own lease.
    func takeBack(_ volume: String, from token: UInt64) async throws -> UInt64 {
        guard let revision = OwnerValue.modRevision(token: token), let lease = state.withLock({ $0.lease }) else {
            throw MoveError("\(core.node) holds no etcd lease; it cannot take \(volume) back")
        }
        return try await swap(volume, expecting: revision, to: core.node, lease: lease)
    }

    /// `barge failover` under `[cluster]`: this node takes the record when it is
    /// gone, or (`force`) from a live owner, which fences itself when it learns it.
    func claim(_ volume: String, force: Bool) async throws -> UInt64 {
        guard let lease = state.withLock({ $0.lease }), leaseAlive?.alive == true else {
            throw MoveError("\(core.node) cannot confirm its etcd lease; it takes nothing over", hint: "check that etcd answers: `barge cluster status`")
        }
        let current = try await client.get(keys.owner(volume))
        count()
        if let kv = current.value {
            let owner = (try? OwnerValue.decode(kv.value))?.owner ?? "?"
            guard force else {
                throw ControlFailure(message: "\(owner) holds \(volume)'s owner record under a live etcd lease; refusing to fail over",
                                     hint: "move it on purpose with `barge migrate \(volume) --to \(core.node)` on \(owner); --force takes it anyway (\(owner) fences itself)")
            }
            return try await swap(volume, expecting: kv.modRevision, to: core.node, lease: lease)
        }
        let result = try await client.txn(compare: [.createRevision(key: keys.owner(volume), .equal, 0)],
                                          success: [.put(key: keys.owner(volume), value: OwnerValue(owner: core.node).encoded(), lease: lease)],
                                          failure: [])
        count()
        guard result.succeeded else { throw MoveError("another member took \(volume) over meanwhile", hint: "`barge cluster status` shows who") }
        return OwnerValue.token(modRevision: result.header.revision)
    }

    /// Right before a container starts: etcd names this node owner at exactly
    /// `token`, under the lease it holds now. Whatever path decided the start
    /// (a watch event, a sweep, a move) may have acted on a record that has
    /// changed since; this read is the last word.
    func confirmOwner(_ volume: String, token: UInt64) async throws {
        let current = try await client.get(keys.owner(volume))
        count()
        let lease = state.withLock { $0.lease }
        guard let kv = current.value, let value = try? OwnerValue.decode(kv.value), value.owner == core.node,
              OwnerValue.token(modRevision: kv.modRevision) == token, kv.lease == lease else {
            nudge()
            throw MoveError("etcd no longer names \(core.node) owner of \(volume) at token \(token) under its lease; not starting the container")
        }
    }

    private func swap(_ volume: String, expecting revision: Int64, to owner: String, lease: Int64) async throws -> UInt64 {
        let key = keys.owner(volume)
        let result = try await client.txn(compare: [.modRevision(key: key, .equal, revision)],
                                          success: [.put(key: key, value: OwnerValue(owner: owner).encoded(), lease: lease)],
                                          failure: [.range(key: key)])
        count()
        guard result.succeeded else {
            throw MoveError("\(volume)'s owner record changed in etcd meanwhile (another move or an election)",
                            hint: "`barge cluster status` shows the owner now; nothing was moved")
        }
        return OwnerValue.token(modRevision: result.header.revision)
    }
}
