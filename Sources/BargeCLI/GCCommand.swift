import ArgumentParser
import Control
import Snapshots

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Reclaim space held by blobs no snapshot references.",
        discussion: """
            Deletes packs with no live blob and rewrites packs that are a quarter or more dead. With an agent running it \
            goes through the agent and runs beside its snapshots, receptions and standby updates; without one it needs \
            the store to itself (readers are refused while it runs).
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions

    func run() throws {
        let report: GCReport
        if let socket = try agent.agentSocketIfRunning() {
            let progress = ProgressLine()
            progress.update("gc (by the agent, beside its other work)…")
            let answer = try agent.send(ControlRequest(command: .gc), to: socket).gc
            progress.finish()
            guard let answer else { throw ExitCode(ExitStatus.error.rawValue) }
            report = answer
        } else {
            let progress = ProgressLine()
            let collected = try SnapshotEngine(stateDirectory: global.resolvedStateDirectory).collectGarbage { done, total in
                progress.update("gc: \(done) of \(total) packs looked at")
            }
            progress.finish()
            report = GCReport(liveBlobs: collected.liveBlobs, deadBlobs: collected.deadBlobs, packsDeleted: collected.packsDeleted,
                              packsRewritten: collected.packsRewritten, bytesReclaimed: collected.bytesReclaimed,
                              bytesCopied: collected.bytesCopied, packsSkipped: collected.packsSkipped,
                              blobsRevived: collected.blobsRevived, waitedSeconds: collected.waitedSeconds, seconds: collected.seconds)
        }
        if global.json {
            Terminal.json(["live_blobs": report.liveBlobs, "dead_blobs": report.deadBlobs, "packs_deleted": report.packsDeleted,
                           "packs_rewritten": report.packsRewritten, "bytes_reclaimed": report.bytesReclaimed,
                           "bytes_copied": report.bytesCopied, "packs_skipped": report.packsSkipped,
                           "blobs_revived": report.blobsRevived, "waited_seconds": report.waitedSeconds, "seconds": report.seconds])
        } else {
            var line = "gc: \(report.deadBlobs) unreferenced blobs; \(report.packsDeleted) packs deleted, \(report.packsRewritten) rewritten; "
                + "\(Terminal.bytes(report.bytesReclaimed)) reclaimed, \(Terminal.bytes(report.bytesCopied)) copied"
            if report.packsSkipped > 0 { line += "; \(report.packsSkipped) packs in use were left for the next run" }
            if report.blobsRevived > 0 { line += "; \(report.blobsRevived) blobs kept because a snapshot or transfer reused them meanwhile" }
            print(line)
        }
    }
}
