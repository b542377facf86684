import AgentConfig
import ArgumentParser
import Control
import Foundation

/// Prints an answer's report as JSON or text; a failed answer exits with its code.
private func finish<Report: Encodable>(_ response: ControlResponse, _ report: Report?, json: Bool, text: (Report) -> Void) throws {
    if let report {
        if json { print(String(decoding: try ControlJSON.encoder().encode(report), as: UTF8.self)) } else { text(report) }
    }
    if !response.ok {
        if let failure = response.error { Terminal.error(failure.description) }
        throw ExitCode(response.error?.exitCode ?? ExitStatus.error.rawValue)
    }
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Move a volume and its container to another node, with seconds of downtime (run on the owner).",
        discussion: """
            Pre-copies while the container runs, runs the stop hook, replicates the final snapshot, hands ownership \
            over (epoch + 1), promotes the target's standby copy and runs the start hook there. A failure before the \
            hand-over restarts the container here.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions
    @Argument(help: "The volume.") var name: String
    @Option(help: "The node to move it to.") var to: String
    @Option(name: .customLong("max-downtime"),
            help: "Give up (and start the container here again) if the final copy keeps it stopped longer, e.g. 30s (default: the volume's max_downtime, 60s).")
    var maxDowntime: String?

    func validate() throws {
        if let maxDowntime, (Quantity.seconds(maxDowntime) ?? 0) < 1 {
            throw ValidationError("--max-downtime \(maxDowntime): write a duration of at least 1s, e.g. 30s or 2m")
        }
    }

    func run() throws {
        let progress = ProgressLine()
        progress.update("migrating \(name) to \(to): pre-copy, stop, final copy, hand-over, start…")
        let response = try agent.exchange(ControlRequest(command: .migrate, volume: name, peer: to,
                                                         maxDowntimeSeconds: maxDowntime.flatMap(Quantity.seconds)))
        progress.finish()
        try finish(response, response.migration, json: global.json) { report in
            print("\(report.volume): \(report.from) → \(report.to), epoch \(report.epoch), snapshot \(report.snapshot.prefix(12))")
            for phase in report.phases {
                print("  \(phase.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(String(format: "%7.3f", phase.seconds)) s  \(Terminal.bytes(phase.bytesSent))")
            }
            print("downtime \(String(format: "%.3f", report.downtimeS)) s (stop → start), \(Terminal.bytes(report.bytesSent)) sent in all")
        }
    }
}

struct FailoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failover", abstract: "Take over a volume whose owner is dead (run on the node that takes it).",
        discussion: """
            Raises the epoch, promotes this node's standby copy (the last snapshot the old owner replicated here) and \
            runs the start hook. Refuses while the owner still answers, unless --force. The old owner, when it comes \
            back, is fenced: it stops its container and keeps its state as a diverged snapshot.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions
    @Argument(help: "The volume.") var name: String
    @Option(help: "This node's name (the node that takes the volume).") var to: String
    @Flag(help: "Proceed even though the owner answers (it will be fenced).") var force = false

    func run() throws {
        let response = try agent.exchange(ControlRequest(command: .failover, volume: name, peer: to, force: force))
        try finish(response, response.failover, json: global.json) { report in
            guard report.from != report.to else {
                print("\(report.volume): \(report.to) already owns it at epoch \(report.epoch); its container was started here")
                return
            }
            print("\(report.volume): now owned by \(report.to) at epoch \(report.epoch) (was \(report.from)); promoted in \(String(format: "%.3f", report.promotionS)) s")
            print("came up at snapshot \(report.snapshot.prefix(12)) of \(report.snapshotTime)")
            Terminal.warning("writes on \(report.from) after \(report.snapshotTime) (the last \(String(format: "%.0f", report.mayLoseSinceS)) s) are not here; "
                             + "if \(report.from) comes back they are kept there as a diverged snapshot")
        }
    }
}

struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Migrate every volume this node owns to one of its replicas (before a reboot).")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions

    func run() throws {
        let progress = ProgressLine()
        progress.update("draining: migrating every owned volume…")
        let response = try agent.exchange(ControlRequest(command: .drain))
        progress.finish()
        try finish(response, response.drain, json: global.json) { report in
            for migration in report.migrations {
                print("\(migration.volume) → \(migration.to): downtime \(String(format: "%.3f", migration.downtimeS)) s, \(Terminal.bytes(migration.bytesSent))")
            }
            if report.migrations.isEmpty && report.failures.isEmpty { print("\(report.node) owns no volumes") }
        }
    }
}
