import Control
import Foundation
import Ownership
import Repository

/// What each control request does. Errors become answers with a message, a
/// hint and the exit code the CLI should use.
struct ControlCommands {
    let core: AgentCore

    func answer(_ request: ControlRequest) async -> ControlResponse {
        do {
            switch request.command {
            case .status:
                return ControlResponse(ok: true, status: try core.status())
            case .clusterStatus:
                guard let coordinator = core.coordinator.withLock({ $0 }) else {
                    throw ControlFailure(message: "\(core.node) has no [cluster] table: ownership moves only by command here",
                                         hint: "see docs/operations.md, \"Automatic failover on etcd\"")
                }
                return ControlResponse(ok: true, cluster: try await coordinator.report())
            case .snapshot:
                let volume = try required(request.volume, "snapshot")
                let outcome = try await core.snapshot(volume)
                let report = SnapshotReport(
                    id: outcome.id.hex, volume: volume, epoch: outcome.record.epoch, files: outcome.record.files,
                    bytesTotal: outcome.record.bytesTotal, bytesAdded: outcome.bytesAdded, bytesRead: outcome.statistics.bytesRead,
                    durationS: outcome.seconds,
                    skipped: outcome.problems.map { "\($0.path): \($0.message)" }, chunksFoundAgain: outcome.statistics.chunksFoundAgain)
                return ControlResponse(ok: true, snapshot: report)
            case .replicate:
                let volume = try required(request.volume, "replicate")
                let report = try await core.replicate(volume, to: request.peer)
                let failed = report.peers.filter { !$0.ok }
                guard failed.isEmpty else {
                    return ControlResponse(ok: false, replication: report, error: ControlFailure(
                        message: failed.map { "\($0.peer): \($0.error ?? "failed")" }.joined(separator: "; "),
                        hint: "check that the peer's agent runs and is reachable; `barge status` shows the last error"))
                }
                return ControlResponse(ok: true, replication: report)
            case .migrate:
                let volume = try required(request.volume, "migrate")
                guard let target = request.peer else { throw ControlFailure(message: "migrate needs --to NODE", exitCode: 2) }
                return ControlResponse(ok: true, migration: try await core.migrate(volume, to: target, maxDowntime: request.maxDowntimeSeconds))
            case .failover:
                let volume = try required(request.volume, "failover")
                guard let target = request.peer else { throw ControlFailure(message: "failover needs --to NODE", exitCode: 2) }
                let report = try await core.failover(volume, to: target, force: request.force ?? false)
                guard report.started else {
                    return ControlResponse(ok: false, failover: report, error: ControlFailure(
                        message: "\(volume) is owned by \(core.node) now, but its start hook failed", hint: "see `barge status` and the agent's log"))
                }
                return ControlResponse(ok: true, failover: report)
            case .forget:
                let volume = try required(request.volume, "forget")
                guard let forget = request.forget else { throw ControlFailure(message: "forget needs snapshots or a policy", exitCode: 2) }
                return ControlResponse(ok: true, forget: try await core.forget(volume, forget))
            case .rollback:
                let volume = try required(request.volume, "restore --in-place")
                let report = try await core.rollBack(volume, request.rollback ?? RollbackRequest(snapshot: nil, atNanoseconds: nil, path: nil))
                guard report.problems.isEmpty && report.warnings.isEmpty else {
                    return ControlResponse(ok: false, rollback: report, error: ControlFailure(
                        message: (report.problems + report.warnings).joined(separator: "; "),
                        hint: "the data was rolled back; undo with `barge restore \(volume) --snapshot \(report.preRestoreSnapshot.prefix(12)) --in-place`",
                        exitCode: 3))
                }
                return ControlResponse(ok: true, rollback: report)
            case .peerSnapshots:
                let volume = try required(request.volume, "snapshots --from")
                guard let peer = request.peer else { throw ControlFailure(message: "snapshots --from needs a peer", exitCode: 2) }
                return ControlResponse(ok: true, peerSnapshots: try await core.peerSnapshots(volume, from: peer))
            case .fetch:
                let volume = try required(request.volume, "restore --from")
                guard let peer = request.peer else { throw ControlFailure(message: "restore --from needs a peer", exitCode: 2) }
                guard let id = request.snapshot.flatMap({ BlobID(hex: $0) }) else {
                    throw ControlFailure(message: "fetch needs a full snapshot id", exitCode: 2)
                }
                return ControlResponse(ok: true, fetch: try await core.fetch(volume, from: peer, snapshot: id))
            case .gc:
                return ControlResponse(ok: true, gc: try await core.collectGarbage(by: "command"))
            case .drain:
                let report = await core.drain()
                guard report.failures.isEmpty else {
                    return ControlResponse(ok: false, drain: report, error: ControlFailure(
                        message: report.failures.joined(separator: "; "), hint: "fix the cause and run `barge drain` again; moved volumes stay moved"))
                }
                return ControlResponse(ok: true, drain: report)
            }
        } catch let failure as ControlFailure {
            return ControlResponse(ok: false, error: failure)
        } catch let error as MoveError {
            return ControlResponse(ok: false, error: ControlFailure(message: error.message, hint: error.hint))
        } catch let refusal as OwnershipRefusal {
            let usage = refusal.code == .invalid || refusal.code == .notMember
            return ControlResponse(ok: false, error: ControlFailure(message: refusal.message, hint: refusal.hint, exitCode: usage ? 2 : 1))
        } catch let failure as OwnershipStepFailure {
            let move = failure.underlying as? MoveError
            let hint = move?.hint ?? (failure.underlying is HookFailure ? "fix the hook; the operation stopped at a safe point" : nil)
            return ControlResponse(ok: false, error: ControlFailure(message: move?.message ?? failure.description, hint: hint))
        } catch let error as HookFailure {
            return ControlResponse(ok: false, error: ControlFailure(message: error.description, hint: "fix the hook; the operation stopped at a safe point"))
        } catch let error as RepositoryError {
            return ControlResponse(ok: false, error: ControlFailure(message: error.description))
        } catch {
            return ControlResponse(ok: false, error: ControlFailure(message: "\(error)"))
        }
    }

    private func required(_ volume: String?, _ command: String) throws -> String {
        guard let volume, !volume.isEmpty else { throw ControlFailure(message: "\(command) needs a volume name", exitCode: 2) }
        return volume
    }
}
