import ArgumentParser
import Control
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show each volume's owner, epoch, snapshots, replicas' lag and standby copy (asks the agent).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions

    func run() throws {
        let response = try agent.send(ControlRequest(command: .status), to: try agent.resolvedSocket())
        guard let status = response.status else { throw ExitCode(ExitStatus.error.rawValue) }
        if global.json {
            print(String(decoding: try ControlJSON.encoder().encode(status), as: UTF8.self))
            return
        }
        print("node \(status.node) (pid \(status.pid), up since \(status.startedAt))")
        for volume in status.volumes {
            let container = volume.container.map { "  container \($0)" } ?? ""
            print("\n\(volume.name)  \(volume.role)  owner \(volume.owner)  epoch \(volume.epoch)  \(volume.path)\(container)")
            print("  latest snapshot: \(volume.latestSnapshot.map { String($0.prefix(12)) } ?? "none")  \(volume.latestSnapshotTime ?? "")  (\(volume.snapshots) in all)")
            for replica in volume.replicas {
                let acked = replica.ackedSnapshot.map { String($0.prefix(12)) } ?? "never"
                let lag = replica.lagSeconds.map { String(format: "%.1f s", $0) } ?? "-"
                print("  replica \(replica.peer): acknowledged \(acked)  lag \(lag), \(Terminal.bytes(replica.lagBytes ?? 0))")
            }
            if let path = volume.standbyPath {
                let state = volume.standbyUpdating == true ? " (updating)" : ""
                print("  standby: \(path) = \(volume.standbySnapshot.map { String($0.prefix(12)) } ?? "none yet")\(state)")
            }
            for replica in volume.replicas {
                if let error = replica.lastError { Terminal.warning("\(volume.name) → \(replica.peer): \(error)", hint: replica.lastErrorHint) }
            }
            if let error = volume.lastError { Terminal.warning("\(volume.name): \(error)") }
        }
    }
}

struct ReplicateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate", abstract: "Send the volume's newest snapshot to its replicas now and wait for them (asks the agent).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions
    @Argument(help: "The volume.") var name: String
    @Option(help: "Only this replica.") var to: String?

    func run() throws {
        let progress = ProgressLine()
        progress.update("replicating \(name) to \(to ?? "its replicas")…")
        let response = try agent.exchange(ControlRequest(command: .replicate, volume: name, peer: to))
        progress.finish()
        if let report = response.replication {
            if global.json {
                print(String(decoding: try ControlJSON.encoder().encode(report), as: UTF8.self))
                for peer in report.peers where !peer.ok { Terminal.error("\(name) → \(peer.peer): \(peer.error ?? "failed")", hint: peer.hint) }
            } else {
                for peer in report.peers {
                    if peer.ok {
                        print("\(name) → \(peer.peer): \(peer.alreadyThere ? "already there" : "sent") \(Terminal.bytes(peer.bytesSent)) on the wire, "
                              + "\(peer.chunksRaw) chunks whole, \(peer.chunksDelta) as deltas, \(peer.trees) trees, \(String(format: "%.2f", peer.seconds)) s")
                    } else {
                        Terminal.error("\(name) → \(peer.peer): \(peer.error ?? "failed")", hint: peer.hint)
                    }
                }
            }
        }
        if !response.ok {
            if let failure = response.error, response.replication == nil { Terminal.error(failure.description) }
            throw ExitCode(response.error?.exitCode ?? ExitStatus.error.rawValue)
        }
    }
}
