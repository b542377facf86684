import AgentConfig
import ArgumentParser
import Control
import Foundation
import Repository
import Snapshots

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Take a snapshot of a volume now.",
        discussion: "Prints the new snapshot's id. Exit code 3 when some files could not be read (they are listed).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions
    @Argument(help: "The volume.") var name: String
    @Flag(help: "Read every file, even those unchanged since the last snapshot (after `verify --repair`).")
    var rehash = false
    @Option(name: .customLong("time"), help: "Record this time (ISO 8601) instead of now, as restic's --time: imports and simulations. Not through an agent.")
    var time: String?

    func validate() throws {
        if let time, SnapshotChoice.parseTime(time) == nil {
            throw ValidationError("--time \"\(time)\" is not an ISO 8601 time like 2026-11-25T10:00:00Z")
        }
    }

    func run() throws {
        // With an agent running, it holds the store: ask it.
        if !rehash, let socket = try agent.agentSocketIfRunning() {
            guard time == nil else {
                throw ValidationError("--time writes the store directly; the agent holds it now (stop it first, or drop --time)")
            }
            return try viaAgent(socket)
        }
        let engine = SnapshotEngine(stateDirectory: global.resolvedStateDirectory)
        let progress = ProgressLine()
        let recorded = time.flatMap(SnapshotChoice.parseTime).map { Int64(($0.timeIntervalSince1970 * 1e9).rounded()) }
        let outcome = try engine.snapshot(volume: name, rehash: rehash, time: recorded) { stats, path in
            progress.update("\(stats.files) files, \(Terminal.bytes(stats.bytesRead)) read  \(path)")
        }
        progress.finish()
        let stats = outcome.statistics
        if global.json {
            Terminal.json([
                "id": outcome.id.hex, "volume": name, "parent": outcome.record.parent?.hex ?? NSNull(),
                "files": stats.files, "dirs": stats.directories, "bytes_read": stats.bytesRead,
                "bytes_total": stats.bytesTotal, "bytes_added": outcome.bytesAdded, "chunks_added": stats.chunksAdded,
                "chunks_found_again": stats.chunksFoundAgain,
                "chunk_bytes_new": stats.chunkBytesNew, "chunk_bytes_stored": outcome.chunkBytesStored,
                "tree_bytes_stored": outcome.treeBytesStored, "trees_added": stats.treesAdded,
                "duration_s": outcome.seconds,
                "skipped": outcome.problems.map { ["path": $0.path, "error": $0.message] }, "notes": outcome.notes,
            ] as [String: Any])
        } else {
            print(outcome.id.hex)
            let rate = outcome.seconds > 0 ? Double(stats.bytesRead) / outcome.seconds : 0
            FileHandle.standardError.write(Data("""
                snapshot \(outcome.id.short) of \(name): \(stats.files) files, \(stats.directories) dirs, \
                \(Terminal.bytes(stats.bytesTotal)); read \(Terminal.bytes(stats.bytesRead)), \
                added \(Terminal.bytes(outcome.bytesAdded)) in \(String(format: "%.2f", outcome.seconds)) s (\(Terminal.bytes(UInt64(rate)))/s)

                """.utf8))
            for note in outcome.notes { Terminal.warning(note) }
            for problem in outcome.problems { Terminal.warning("\(problem.path): \(problem.message)") }
        }
        if !outcome.problems.isEmpty { throw ExitCode(ExitStatus.partial.rawValue) }
    }
}

extension SnapshotCommand {
    private func viaAgent(_ socket: String) throws {
        let progress = ProgressLine()
        progress.update("snapshot of \(name) (by the agent)…")
        let response = try agent.send(ControlRequest(command: .snapshot, volume: name), to: socket)
        progress.finish()
        guard let report = response.snapshot else { throw ExitCode(ExitStatus.error.rawValue) }
        if global.json {
            print(String(decoding: try ControlJSON.encoder().encode(report), as: UTF8.self))
        } else {
            print(report.id)
            FileHandle.standardError.write(Data("snapshot \(report.id.prefix(12)) of \(name): \(report.files) files, \(Terminal.bytes(report.bytesTotal)); added \(Terminal.bytes(report.bytesAdded)) in \(String(format: "%.2f", report.durationS)) s\n".utf8))
            for skipped in report.skipped { Terminal.warning(skipped) }
        }
        if !report.skipped.isEmpty { throw ExitCode(ExitStatus.partial.rawValue) }
    }
}

struct SnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots", abstract: "List a volume's snapshots, oldest first.",
        discussion: "--from PEER lists a peer's snapshots instead, through this node's agent (mutual TLS).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions
    @Argument(help: "The volume.") var name: String
    @Option(name: .customLong("from"), help: "List this peer's snapshots (a [[peer]] of the agent's config).") var peer: String?
    @Option(name: .customLong("offsite"), help: "List the snapshots in this [[offsite]] bucket (of --config); no state directory needed.") var offsite: String?

    func run() throws {
        let snapshots: [StoredSnapshot]
        if let offsite {
            snapshots = try OffsiteRestore(source: OffsiteSource(path: agent.config ?? AgentConfiguration.defaultPath), name: offsite)
                .snapshots(of: name)
        } else if let peer {
            snapshots = try PeerHistory(agent: agent).snapshots(of: name, on: peer)
        } else {
            let store = try Store(at: global.resolvedStateDirectory, access: .read)
            snapshots = try store.snapshots(volume: name)
            if snapshots.isEmpty, try store.index.volume(named: name) == nil {
                throw RepositoryError(.notFound, "no volume named \(name) and no snapshots of it", hint: "see `barge volume list`")
            }
        }
        if global.json {
            Terminal.json(snapshots.map { snapshot -> [String: Any] in
                let r = snapshot.record
                return ["id": snapshot.id.hex, "time": Terminal.time(r.timeNanoseconds), "time_ns": r.timeNanoseconds,
                        "parent": r.parent?.hex ?? NSNull(),
                        "files": r.files, "bytes_total": r.bytesTotal, "bytes_added": r.bytesAdded, "state": r.state,
                        "epoch": r.epoch, "origin": r.origin, "skipped": r.skipped]
            })
            return
        }
        for snapshot in snapshots {
            let r = snapshot.record
            print("\(snapshot.id.short)  \(Terminal.time(r.timeNanoseconds))  \(r.files) files  \(Terminal.bytes(r.bytesTotal))  +\(Terminal.bytes(r.bytesAdded))  \(r.state)")
        }
    }
}

/// `--snapshot ID` / `--at TIME` as a selector.
struct SnapshotChoice: ParsableArguments {
    @Option(name: .customLong("snapshot"), help: "A snapshot id, a unique prefix of it (4+ hex digits), or 'latest'.")
    var snapshot: String?
    @Option(name: .customLong("at"), help: "A time (ISO 8601, e.g. 2026-11-25T10:00:00Z): the newest snapshot at or before it.")
    var at: String?

    func validate() throws {
        if snapshot != nil && at != nil { throw ValidationError("give --snapshot or --at, not both") }
        if let at, Self.parseTime(at) == nil {
            throw ValidationError("--at \"\(at)\" is not an ISO 8601 time like 2026-11-25T10:00:00Z")
        }
    }

    var selector: SnapshotSelector {
        if let at, let date = Self.parseTime(at) { return .at(date) }
        if let snapshot, snapshot != "latest" { return .id(snapshot) }
        return .latest
    }

    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
