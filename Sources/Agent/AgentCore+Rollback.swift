import Control
import Foundation
import Repository
import Snapshots

/// Rolling a live volume back on its owner, with the agent running: the
/// container is stopped (stop hook), the current state kept as a `pre-restore`
/// snapshot, only what differs from the chosen snapshot changed (under a mark:
/// a pass cut short keeps the container stopped and snapshots refused until one
/// finishes), the result recorded, the container started again, and then the
/// result replicated so the replicas' standby copies follow. Replication comes
/// after the start, outside the downtime: a replica that is down must not keep
/// the service down. `--path` stages that path and swaps it in instead.
extension AgentCore {
    func rollBack(_ volume: String, _ request: RollbackRequest) async throws -> RollbackReport {
        let settings = try settings(volume)
        _ = try requireOwner(volume, for: "a volume is rolled back")
        let selector: SnapshotSelector = request.atNanoseconds.map { .at(Date(timeIntervalSince1970: Double($0) / 1e9)) }
            ?? request.snapshot.map { $0 == "latest" ? .latest : .id($0) } ?? .latest
        let started = Date()
        var report = try await locks.withLock(volume) { () async throws -> RollbackReport in
            let ownership = try requireOwner(volume, for: "a volume is rolled back")
            let running = containers.isRunning(volume) == true
            // A roll-back cut short kept the container stopped; finishing one starts it again.
            let interrupted = (try? store.index.rollbackMark(of: volume)).flatMap { $0 } != nil
            let downtimeStart = Date()
            if running { try await stopContainer(settings, epoch: ownership.epoch) }
            let store = self.store, node = self.node
            // A whole volume changes only what differs; one path is staged and swapped in.
            let restored = await Result(catching: { () async throws -> RollbackReport in
                try await Blocking.run {
                    let engine = SnapshotEngine(stateDirectory: store.directory, nodeName: node)
                    if let path = request.path {
                        let outcome = try engine.restoreInPlace(volume: volume, selector, subpath: path, in: store, epoch: ownership.epoch)
                        let stats = outcome.result.statistics
                        return RollbackReport(volume: volume, snapshot: outcome.snapshot.id.hex, target: outcome.target, files: stats.files,
                                              directories: stats.directories, bytesWritten: Int(stats.bytesWritten),
                                              preRestoreSnapshot: outcome.safetySnapshot?.hex ?? "", resultSnapshot: nil,
                                              containerStopped: false, downtimeSeconds: nil, seconds: 0, replication: nil,
                                              warnings: outcome.result.warnings.map { "\($0.path): \($0.message)" }, problems: [])
                    }
                    let materialized = self.promotedAt.withLock { $0[volume] }.map { (snapshot: $0.snapshot, before: $0.time) }
                    let outcome = try engine.rollBack(volume: volume, selector, in: store, epoch: ownership.epoch, materialized: materialized)
                    let stats = outcome.statistics
                    self.promotedAt.withLock { $0[volume] = (outcome.result, outcome.materializedAt) }
                    return RollbackReport(volume: volume, snapshot: outcome.snapshot.id.hex, target: outcome.target,
                                          files: stats.entriesReplaced, directories: 0, entriesRemoved: stats.entriesRemoved,
                                          filesPatchedInPlace: stats.filesPatchedInPlace, bytesWritten: Int(stats.bytesWritten),
                                          preRestoreSnapshot: outcome.preRestore.hex, resultSnapshot: outcome.result.hex, containerStopped: false,
                                          downtimeSeconds: nil, seconds: 0, replication: nil, warnings: [], problems: [])
                }
            })
            var problems: [String] = []
            var result: BlobID?
            if case .success(let report) = restored {
                if let recorded = report.resultSnapshot {
                    result = BlobID(hex: recorded)
                } else {
                    // One path was swapped in: its entries have new inodes and ctimes, so this snapshot reads them.
                    do { result = try await takeSnapshot(volume).id } catch { problems.append("the rolled-back state was not snapshotted: \(error)") }
                }
            }
            var downtime: Double?
            // After a failure the container starts again unless the volume may be half changed
            // (the mark is still there: startContainer refuses then).
            let finishedInterrupted: Bool
            if interrupted, case .success = restored { finishedInterrupted = settings.hooks.start != nil } else { finishedInterrupted = false }
            if running || finishedInterrupted {
                do {
                    try await startContainer(settings, epoch: ownership.epoch)
                    downtime = Date().timeIntervalSince(downtimeStart)
                } catch {
                    problems.append("the start hook failed after the roll-back: \(error)")
                    noteError(volume, "the start hook failed after a roll-back: \(error)")
                }
            }
            var report = try restored.get()
            report.resultSnapshot = result?.hex
            report.containerStopped = running || interrupted
            report.downtimeSeconds = downtime
            report.problems = problems
            return report
        }
        logger.notice("volume rolled back", metadata: [
            "volume": "\(volume)", "snapshot": "\(report.snapshot.prefix(12))", "pre_restore": "\(report.preRestoreSnapshot.prefix(12))",
            "path": "\(request.path ?? "/")", "downtime": "\(report.downtimeSeconds.map { String(format: "%.3f", $0) } ?? "none")"])
        if report.resultSnapshot != nil && settings.members.contains(where: { $0 != node }) {
            switch await Result(catching: { try await self.replicate(volume) }) {
            case .success(let replication):
                report.replication = replication
                for peer in replication.peers where !peer.ok {
                    report.problems.append("\(peer.peer) does not have the rolled-back state yet: \(peer.error ?? "failed"); the next replication sends it")
                }
            case .failure(let error):
                report.problems.append("the replicas do not have the rolled-back state yet: \(error); the next replication sends it")
            }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}
