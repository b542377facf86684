import Control
import Foundation
import Ownership
import Repository
import Snapshots

/// What the owner does: snapshots (quiesced by the volume's hooks while its
/// container runs) and replication to every other member of the volume.
extension AgentCore {
    func requireOwner(_ volume: String, for action: String) throws -> Ownership {
        let state = try ownershipState(try settings(volume))
        if let refusal = state.maySnapshot {
            let hint = refusal.code == .notOwner ? "\(action) on the owner: run this on \(state.record.owner)" : refusal.hint
            throw ControlFailure(message: refusal.message, hint: hint)
        }
        return Ownership(volume: volume, owner: state.record.owner, epoch: state.record.epoch)
    }

    func snapshot(_ volume: String, reuseUnchanged: Bool = false) async throws -> SnapshotOutcome {
        _ = try requireOwner(volume, for: "snapshots are taken")
        return try await locks.withLock(volume) { try await takeSnapshot(volume, reuseUnchanged: reuseUnchanged) }
    }

    /// A snapshot at the current epoch; the caller holds the volume's lock.
    func takeSnapshot(_ volume: String, state: String = "complete", reuseUnchanged: Bool = false) async throws -> SnapshotOutcome {
        let settings = try settings(volume)
        let ownership = try requireOwner(volume, for: "snapshots are taken")
        // A roll-back cut short: the volume may be half changed. No snapshot may record it as
        // complete (replication, a move or a failover would carry it on).
        if let mark = try store.index.rollbackMark(of: volume) {
            throw ControlFailure(message: "the roll-back of \(volume) to \(mark.target.short) did not finish: the volume may be half rolled back, so it is not snapshotted",
                                 hint: "run `barge restore \(volume) --snapshot \(mark.target.short) --in-place` again, or `--snapshot \(mark.preRestore.short)` to undo")
        }
        let quiesce = containers.isRunning(volume) == true
        if quiesce {
            do { try await runHook(.preSnapshot, settings, epoch: ownership.epoch) } catch {
                // It may have quiesced part of the service before failing: let it resume.
                _ = try? await runHook(.postSnapshot, settings, epoch: ownership.epoch)
                throw error
            }
        }
        let store = self.store, node = self.node, fingerprints = self.fingerprints
        // Right after a promotion the files are barge's own copy of the newest snapshot: not read again.
        let materialized = promotedAt.withLock { $0[volume] }.map { (snapshot: $0.snapshot, before: $0.time) }
        let result = await Result(catching: {
            try await Blocking.run {
                try SnapshotEngine(stateDirectory: store.directory, nodeName: node)
                    .snapshot(volume: volume, in: store, epoch: ownership.epoch, state: state, reuseUnchanged: reuseUnchanged,
                              materialized: materialized, fingerprints: fingerprints)
            }
        })
        if quiesce { try await runHook(.postSnapshot, settings, epoch: ownership.epoch) }
        let outcome = try result.get()
        noteError(volume, nil)
        promotedAt.withLock { $0[volume] = nil }
        if outcome.reused {
            logger.debug("volume unchanged since its newest snapshot", metadata: ["volume": "\(volume)", "snapshot": "\(outcome.id.short)"])
            return outcome
        }
        clusterNudge()
        metrics.snapshotTaken(volume: volume, seconds: outcome.seconds, bytesAdded: outcome.bytesAdded)
        logger.info("snapshot taken", metadata: ["volume": "\(volume)", "snapshot": "\(outcome.id.short)", "epoch": "\(ownership.epoch)",
                                                 "bytes_added": "\(outcome.bytesAdded)", "seconds": "\(outcome.seconds)"])
        return outcome
    }

    /// Sends the newest snapshot to each replica (or one), concurrently; waits for every answer.
    func replicate(_ volume: String, to only: String? = nil) async throws -> ReplicationReport {
        _ = try requireOwner(volume, for: "replication flows from the owner")
        return try await locks.withLock(volume) { try await replicateLatest(volume, to: only) }
    }

    /// The caller holds the volume's lock.
    func replicateLatest(_ volume: String, to only: String? = nil) async throws -> ReplicationReport {
        let settings = try settings(volume)
        let ownership = try requireOwner(volume, for: "replication flows from the owner")
        let replicas = settings.members.filter { $0 != node }
        if let only, !replicas.contains(only) {
            throw ControlFailure(message: "\(only) is not a replica of \(volume) (replicas: \(replicas.joined(separator: ", ")))",
                                 hint: "add it to the volume's replicas in the config and reload", exitCode: 2)
        }
        guard let latest = try store.snapshots(volume: volume).last(where: { $0.record.state == "complete" }) else {
            throw ControlFailure(message: "\(volume) has no snapshot to replicate", hint: "take one with `barge snapshot \(volume)`")
        }
        guard latest.record.epoch == ownership.epoch else {
            throw ControlFailure(message: "the newest snapshot of \(volume) is from epoch \(latest.record.epoch); this node owns epoch \(ownership.epoch)",
                                 hint: "take a snapshot first: `barge snapshot \(volume)`")
        }
        let started = Date()
        let transfers = await withTaskGroup(of: PeerTransfer.self) { group in
            for peer in only.map({ [$0] }) ?? replicas { group.addTask { await self.transfer(latest, to: peer) } }
            var results: [PeerTransfer] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.peer < $1.peer }
        }
        return ReplicationReport(volume: volume, snapshot: latest.id.hex, peers: transfers, seconds: Date().timeIntervalSince(started))
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
