import Control
import Foundation
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
            case .snapshot:
                let volume = try required(request.volume, "snapshot")
                let outcome = try await core.snapshot(volume)
                let report = SnapshotReport(
                    id: outcome.id.hex, volume: volume, epoch: outcome.record.epoch, files: outcome.record.files,
                    bytesTotal: outcome.record.bytesTotal, bytesAdded: outcome.bytesAdded, durationS: outcome.seconds,
                    skipped: outcome.problems.map { "\($0.path): \($0.message)" })
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
            }
        } catch let failure as ControlFailure {
            return ControlResponse(ok: false, error: failure)
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
