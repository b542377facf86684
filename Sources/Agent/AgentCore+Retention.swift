import Control
import Foundation
import Repository
import Retention
import Snapshots

/// Forgetting snapshots on a running agent: by command (`barge forget`) and
/// by each volume's `[volume.retention]` on the schedule (RetentionKeeper).
/// Only index rows go; the space returns with gc. Under the volume's lock, so
/// no snapshot, reception or standby update of the volume runs meanwhile.
extension AgentCore {
    func forget(_ volume: String, _ request: ForgetRequest) async throws -> ForgetReport {
        guard let settings = config.volume(named: volume) else {
            throw ControlFailure(message: "\(node) has no volume \(volume) in its config", hint: "`barge status` lists the volumes", exitCode: 2)
        }
        let policy = request.configuredPolicy ? settings.retention : request.policy
        if request.configuredPolicy && policy == nil {
            throw ControlFailure(message: "volume \(volume) has no [volume.retention] table in \(node)'s config",
                                 hint: "add one (docs/operations.md, \"Retention\"), or give --keep-* rules", exitCode: 2)
        }
        let store = self.store, node = self.node
        let outcome = try await locks.withLock(volume) {
            try await Blocking.run {
                try SnapshotEngine(stateDirectory: store.directory, nodeName: node)
                    .forget(volume: volume, ids: request.snapshots.map { .id($0) }, policy: policy, dryRun: request.dryRun, in: store)
            }
        }
        if !outcome.dryRun && !outcome.forgotten.isEmpty {
            metrics.forgot(volume: volume, count: outcome.forgotten.count)
            logger.notice("snapshots forgotten", metadata: [
                "volume": "\(volume)", "count": "\(outcome.forgotten.count)", "by": "\(request.configuredPolicy ? "retention" : "command")",
                "snapshots": "\(outcome.forgotten.map(\.id.short).joined(separator: ","))"])
        }
        return ForgetReport(volume: volume, dryRun: outcome.dryRun, policy: policy, verdicts: outcome.verdicts,
                            forgotten: outcome.forgotten.map(\.id.hex))
    }

    /// One scheduled pass over a volume with a policy; errors are logged and
    /// shown in status. Returns how many snapshots went.
    func applyRetention(_ volume: String) async -> Int {
        do {
            return try await forget(volume, ForgetRequest(snapshots: [], policy: nil, configuredPolicy: true, dryRun: false)).forgotten.count
        } catch {
            metrics.error("retention")
            logger.error("retention of \(volume) failed: \(error)")
            noteError(volume, "retention failed: \(error)")
            return 0
        }
    }

    /// gc beside everything else the agent does (see `CollectionGate`): it
    /// first waits for the writers that started before it, then never blocks
    /// one for longer than a pack's commit.
    func collectGarbage(by reason: String) async throws -> GCReport {
        let store = self.store
        let report: CollectionReport
        do {
            report = try await Blocking.run { try GarbageCollector(store: store).run() }
        } catch let error as RepositoryError {
            metrics.error("gc")
            logger.error("gc failed: \(error)")
            throw ControlFailure(message: "gc failed: \(error.message)", hint: error.hint)
        }
        metrics.collected(report)
        logger.notice("gc done", metadata: [
            "by": "\(reason)", "reclaimed": "\(report.bytesReclaimed)", "copied": "\(report.bytesCopied)",
            "packs_deleted": "\(report.packsDeleted)", "packs_rewritten": "\(report.packsRewritten)",
            "revived": "\(report.blobsRevived)", "seconds": "\(String(format: "%.2f", report.seconds))"])
        return GCReport(report)
    }
}

extension GCReport {
    init(_ report: CollectionReport) {
        self.init(liveBlobs: report.liveBlobs, deadBlobs: report.deadBlobs, packsDeleted: report.packsDeleted,
                  packsRewritten: report.packsRewritten, bytesReclaimed: report.bytesReclaimed, bytesCopied: report.bytesCopied,
                  packsSkipped: report.packsSkipped, blobsRevived: report.blobsRevived, waitedSeconds: report.waitedSeconds,
                  seconds: report.seconds)
    }
}
