import Foundation
import Repository
import Retention

/// What `forget` decided: a verdict for every snapshot of the volume (with a
/// policy) or for each one named, and the ones removed from the index (or,
/// in a dry run, the ones that would be).
public struct ForgetOutcome: Sendable {
    public var verdicts: [RetentionVerdict]
    public var forgotten: [StoredSnapshot]
    public var dryRun: Bool
}

/// Removes snapshots from the index by name and by retention policy. Space
/// returns with gc. A snapshot this node still needs (the standby copy equals
/// it, or a standby update is heading for it) is never forgotten; the newest
/// complete snapshot is never forgotten by a policy.
public struct SnapshotForgetter {
    let store: Store

    public init(store: Store) { self.store = store }

    public func forget(volume: String, named: [StoredSnapshot], policy: RetentionPolicy?, dryRun: Bool,
                       now: Int64 = Clock.nowNanoseconds()) throws -> ForgetOutcome {
        let all = try store.snapshots(volume: volume)
        let inUse = try snapshotsInUse(volume: volume)
        for snapshot in named {
            if let use = inUse[snapshot.id] {
                throw RepositoryError(.invalidArgument, "snapshot \(snapshot.id.short) of \(volume) cannot be forgotten: \(use)",
                                      hint: "it is released once the standby copy moves to a newer snapshot; nothing was forgotten")
            }
        }
        var verdicts: [RetentionVerdict] = []
        if let policy {
            let candidates = all.map {
                RetentionCandidate(id: $0.id.hex, timeNanoseconds: $0.record.timeNanoseconds, state: $0.record.state, inUse: inUse[$0.id])
            }
            verdicts = RetentionPlan.verdicts(policy, for: candidates, now: now)
        }
        // A snapshot named goes even where the policy would keep it.
        for snapshot in named {
            if let index = verdicts.firstIndex(where: { $0.id == snapshot.id.hex }) {
                verdicts[index].reasons = []
            } else {
                verdicts.append(RetentionVerdict(id: snapshot.id.hex, timeNanoseconds: snapshot.record.timeNanoseconds,
                                                 state: snapshot.record.state, reasons: []))
            }
        }
        let doomed = Set(verdicts.filter { !$0.keep }.map(\.id))
        let forgotten = all.filter { doomed.contains($0.id.hex) }
        if !dryRun && !forgotten.isEmpty { try store.index.deleteSnapshots(forgotten.map(\.id)) }
        return ForgetOutcome(verdicts: verdicts, forgotten: forgotten, dryRun: dryRun)
    }

    /// Snapshots this node needs as they are: what its standby copy equals or is being brought to.
    func snapshotsInUse(volume: String) throws -> [BlobID: String] {
        var inUse: [BlobID: String] = [:]
        if let standby = try store.index.standby(of: volume) {
            if let snapshot = standby.snapshot { inUse[snapshot] = "the standby copy equals it" }
            if let updating = standby.updating { inUse[updating] = "a standby update is heading for it" }
        }
        return inUse
    }
}
