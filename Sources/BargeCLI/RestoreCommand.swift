import ArgumentParser
import Control
import AgentConfig
import Foundation
import Offsite
import Repository
import Snapshots

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a volume, a directory or a file from a snapshot.",
        discussion: """
            --target DIR must not exist or be empty; the restore is staged beside it and renamed into place.
            --in-place replaces the live volume (or --path in it); the current state is snapshotted first. With an agent \
            running it goes through the agent, on the volume's owner only: the container is stopped, only what differs is \
            changed, the container started and the result replicated to the replicas.
            With --path, a directory's contents become the target; a file is placed inside the target.
            --from PEER first fetches the chosen snapshot of the peer (through this node's agent, only what the local \
            store lacks, every blob verified) into the local store, then restores it to --target: history back onto a \
            node that lost its disk.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions
    @Argument(help: "The volume.") var name: String
    @OptionGroup var choice: SnapshotChoice
    @Option(name: .customLong("path"), help: "Restore only this path, relative to the volume root.") var subpath: String?
    @Option(name: .customLong("target"), help: "Where to restore: a new or empty directory.") var target: String?
    @Flag(name: .customLong("in-place"), help: "Replace the live data; snapshots the current state first.") var inPlace = false
    @Option(name: .customLong("from"), help: "Fetch the snapshot from this peer first (a [[peer]] of the agent's config).") var peer: String?
    @Option(name: .customLong("offsite"), help: "Fetch the snapshot from this [[offsite]] bucket first (of --config); works on a bare machine.") var offsite: String?

    func validate() throws {
        if (target == nil) == !inPlace { throw ValidationError("give exactly one of --target DIR and --in-place") }
        if offsite != nil && (inPlace || peer != nil) { throw ValidationError("--offsite restores into a new --target, from the bucket alone") }
        if peer != nil && inPlace { throw ValidationError("--from restores into a new --target; roll the live volume back on its owner instead") }
        if let subpath, subpath.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
            throw ValidationError("--path must not contain '.' or '..' components")
        }
    }

    func run() throws {
        if inPlace, let socket = try agent.agentSocketIfRunning() { return try rollBack(through: socket) }
        var selector = choice.selector
        var fetched: FetchReport?
        if let peer {
            let progress = ProgressLine()
            progress.update("fetching \(name) from \(peer) (by the agent)…")
            let (chosen, report) = try PeerHistory(agent: agent).fetch(name, choice.selector, from: peer)
            progress.finish()
            fetched = report
            selector = .id(chosen.id.hex)
            if !global.json {
                print("fetched snapshot \(chosen.id.short) of \(name) from \(peer): \(report.alreadyHad ? "already here" : "\(report.blobsReceived) blobs, \(Terminal.bytes(report.bytesReceived))") in \(String(format: "%.2f", report.seconds)) s")
            }
        }
        var imported: ImportReport?
        let outcome: RestoreOutcome
        if let offsite {
            // The files are written while the snapshot is imported. On a bare machine it goes through a
            // scratch store beside the target, never synced and removed before the restore's final sync
            // (its bytes never reach the disk); with --state-dir it goes into that store and stays.
            var storeDirectory = global.resolvedStateDirectory
            let explicit = global.stateDirectory != nil || ProcessInfo.processInfo.environment["BARGE_STATE_DIR"] != nil
            if !explicit {
                var base = Paths.absolute(target!)
                while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
                storeDirectory = base + ".barge-import"
            }
            (outcome, imported) = try OffsiteRestore(source: OffsiteSource(path: agent.config ?? AgentConfiguration.defaultPath), name: offsite)
                .restore(name, choice.selector, subpath: subpath, target: target!, into: storeDirectory, scratch: !explicit, json: global.json)
        } else {
            let engine = SnapshotEngine(stateDirectory: global.resolvedStateDirectory)
            let progress = ProgressLine()
            let report: (RestoreStatistics, String) -> Void = { stats, path in
                progress.update("\(stats.files) files, \(Terminal.bytes(stats.bytesWritten))  \(path)")
            }
            outcome = inPlace
                ? try engine.restoreInPlace(volume: name, choice.selector, subpath: subpath, progress: report)
                : try engine.restore(volume: name, selector, subpath: subpath, target: target!, progress: report)
            progress.finish()
        }
        let stats = outcome.result.statistics
        if global.json {
            Terminal.json([
                "snapshot": outcome.snapshot.id.hex, "target": outcome.target, "files": stats.files,
                "dirs": stats.directories, "hard_links": stats.hardLinks, "bytes_written": stats.bytesWritten,
                "duration_s": outcome.seconds, "safety_snapshot": outcome.safetySnapshot?.hex ?? NSNull(),
                "warnings": outcome.result.warnings.map { ["path": $0.path, "error": $0.message] },
                "fetched": fetched.map { ["peer": $0.peer, "blobs_received": $0.blobsReceived, "bytes_received": $0.bytesReceived,
                                          "already_had": $0.alreadyHad, "seconds": $0.seconds] as [String: Any] } ?? NSNull(),
                "offsite": imported.map { OffsiteRestore.json($0) } ?? NSNull(),
            ] as [String: Any])
        } else {
            print("restored snapshot \(outcome.snapshot.id.short) of \(name) to \(outcome.target): \(stats.files) files, "
                  + "\(stats.directories) dirs, \(Terminal.bytes(stats.bytesWritten)) in \(String(format: "%.2f", outcome.seconds)) s")
            if let safety = outcome.safetySnapshot {
                print("the previous state is kept as snapshot \(safety.short) (state pre-restore)")
            }
            for warning in outcome.result.warnings { Terminal.warning("\(warning.path): \(warning.message)") }
        }
        if !outcome.result.warnings.isEmpty { throw ExitCode(ExitStatus.partial.rawValue) }
    }

    /// The agent rolls the live volume back (it holds the store and the container).
    private func rollBack(through socket: String) throws {
        let request = RollbackRequest(snapshot: choice.snapshot, atNanoseconds: choice.at.flatMap(SnapshotChoice.parseTime)
            .map { Int64($0.timeIntervalSince1970 * 1e9) }, path: subpath)
        let progress = ProgressLine()
        progress.update("rolling \(name) back (by the agent: stop, pre-restore snapshot, change what differs, start, replicate)…")
        let response = try ControlClient(socketPath: socket).send(ControlRequest(command: .rollback, volume: name, rollback: request))
        progress.finish()
        guard let report = response.rollback else {
            if let failure = response.error {
                Terminal.error(failure.description)
                throw ExitCode(failure.exitCode)
            }
            throw ExitCode(ExitStatus.error.rawValue)
        }
        if global.json {
            print(String(decoding: try ControlJSON.encoder().encode(report), as: UTF8.self))
        } else {
            let changed = subpath == nil
                ? "\(report.files) entries replaced, \(report.entriesRemoved) removed, \(report.filesPatchedInPlace) large files patched in place"
                : "\(report.files) files, \(report.directories) dirs"
            print("rolled \(report.target) back to snapshot \(report.snapshot.prefix(12)): \(changed), "
                  + "\(Terminal.bytes(report.bytesWritten)) written in \(String(format: "%.2f", report.seconds)) s")
            if report.containerStopped {
                if let downtime = report.downtimeSeconds {
                    print("container stopped and started again: \(String(format: "%.2f", downtime)) s of downtime")
                } else {
                    print("container stopped; its start hook FAILED (see below): it is not running")
                }
            }
            if let result = report.resultSnapshot { print("the rolled-back state is snapshot \(result.prefix(12))") }
            if let replication = report.replication {
                for peer in replication.peers { print("  \(peer.peer): \(peer.error ?? "standby follows")") }
            }
            print("what was there before is kept as snapshot \(report.preRestoreSnapshot.prefix(12)) (state pre-restore); "
                  + "undo with `barge restore \(name) --snapshot \(report.preRestoreSnapshot.prefix(12)) --in-place\(subpath.map { " --path \($0)" } ?? "")`")
        }
        if let error = response.error {
            Terminal.error(error.message, hint: error.hint)
            throw ExitCode(error.exitCode)
        }
    }
}
