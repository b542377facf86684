import AgentConfig
import ArgumentParser
import Control
import Foundation
import Retention
import Snapshots

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Remove snapshots from the history, by id or by a retention policy (gc reclaims the space).",
        discussion: """
            Rules as in restic: --keep-hourly/-daily/-weekly/-monthly/-yearly N keep the newest snapshot of each of the \
            last N hours, days, ISO weeks, months, years (UTC) that have one; --keep-within 2d keeps all taken within 2 days \
            of the newest (not future-dated) snapshot. --policy applies the volume's [volume.retention]. The newest complete snapshot and the one the standby \
            copy equals are never forgotten by a policy; diverged and pre-restore snapshots go only when named or older than \
            --keep-diverged. --dry-run prints what each rule keeps and changes nothing. Goes through the agent when one runs.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var agent: AgentOptions
    @Argument(help: "The volume.") var name: String
    @Option(name: .customLong("snapshot"), help: "A snapshot id or unique prefix; repeatable.") var snapshots: [String] = []
    @Option(name: .customLong("keep-last"), help: "Keep the newest N complete snapshots.") var keepLast: Int?
    @Option(name: .customLong("keep-hourly"), help: "Keep the newest snapshot of each of the last N hours that have one.") var keepHourly: Int?
    @Option(name: .customLong("keep-daily"), help: "… of the last N days.") var keepDaily: Int?
    @Option(name: .customLong("keep-weekly"), help: "… of the last N ISO weeks.") var keepWeekly: Int?
    @Option(name: .customLong("keep-monthly"), help: "… of the last N months.") var keepMonthly: Int?
    @Option(name: .customLong("keep-yearly"), help: "… of the last N years.") var keepYearly: Int?
    @Option(name: .customLong("keep-within"), help: "Keep every snapshot taken within D of the newest (e.g. 36h, 7d).") var keepWithin: String?
    @Option(name: .customLong("keep-diverged"), help: "Forget diverged and pre-restore snapshots older than this (e.g. 30d).") var keepDiverged: String?
    @Flag(name: .customLong("policy"), help: "Apply the volume's [volume.retention] from the agent's config.") var configuredPolicy = false
    @Flag(name: .customLong("dry-run"), help: "Print what would be kept and forgotten, and why; change nothing.") var dryRun = false

    func validate() throws {
        let counts = [keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly]
        if counts.contains(where: { ($0 ?? 0) < 0 }) { throw ValidationError("--keep-* counts must be 0 or more") }
        if let keepLast, keepLast < 1 { throw ValidationError("--keep-last must be at least 1") }
        let rules = counts.contains { $0 != nil } || keepWithin != nil || keepDiverged != nil
        if configuredPolicy && rules { throw ValidationError("--policy applies the configured rules: give either --policy or --keep-* options") }
        if snapshots.isEmpty && !rules && !configuredPolicy {
            throw ValidationError("name snapshots with --snapshot, give --keep-* rules, or --policy for the volume's [volume.retention]")
        }
        if rules, let policy = try commandLinePolicy(), policy.keepsEverything, keepDiverged == nil {
            throw ValidationError("these rules keep every snapshot: give a count above 0 or --keep-within")
        }
    }

    /// The rules given as options, nil when none.
    func commandLinePolicy() throws -> RetentionPolicy? {
        guard [keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly].contains(where: { $0 != nil })
                || keepWithin != nil || keepDiverged != nil else { return nil }
        func seconds(_ text: String?, _ option: String) throws -> Int64? {
            guard let text else { return nil }
            guard let value = Quantity.seconds(text), value >= 1, value <= 100 * 365 * 86_400 else {
                throw ValidationError("\(option) \(text): write a number and a unit (s, m, h, d, w), e.g. 36h or 7d")
            }
            return Int64(value)
        }
        return RetentionPolicy(last: keepLast ?? 0, hourly: keepHourly ?? 0, daily: keepDaily ?? 0, weekly: keepWeekly ?? 0,
                               monthly: keepMonthly ?? 0, yearly: keepYearly ?? 0,
                               withinSeconds: try seconds(keepWithin, "--keep-within") ?? 0,
                               keepDivergedSeconds: try seconds(keepDiverged, "--keep-diverged"))
    }

    func run() throws {
        let request = ForgetRequest(snapshots: snapshots, policy: try commandLinePolicy(), configuredPolicy: configuredPolicy, dryRun: dryRun)
        let report: ForgetReport
        if let socket = try agent.agentSocketIfRunning() {
            guard let answer = try agent.send(ControlRequest(command: .forget, volume: name, forget: request), to: socket).forget else {
                throw ExitCode(ExitStatus.error.rawValue)
            }
            report = answer
        } else {
            report = try offline(request)
        }
        if global.json {
            print(String(decoding: try ControlJSON.encoder().encode(report), as: UTF8.self))
        } else {
            print(Self.describe(report), terminator: "")
        }
    }

    /// No agent: this process opens the store (refused while another writer holds it).
    private func offline(_ request: ForgetRequest) throws -> ForgetReport {
        var policy = request.policy
        if request.configuredPolicy {
            let path = agent.config ?? AgentConfiguration.defaultPath
            let config: AgentConfiguration
            do { config = try AgentConfiguration.load(path: path) } catch { throw ValidationError("--policy reads \(path): \(error)") }
            guard let volume = config.volume(named: name) else {
                throw ValidationError("\(path) has no volume \(name)")
            }
            guard let configured = volume.retention else {
                throw ValidationError("volume \(name) has no [volume.retention] table in \(path); add one or give --keep-* rules")
            }
            policy = configured
        }
        let engine = SnapshotEngine(stateDirectory: global.resolvedStateDirectory)
        let outcome = try engine.forget(volume: name, ids: request.snapshots.map { .id($0) }, policy: policy, dryRun: request.dryRun)
        return ForgetReport(volume: name, dryRun: outcome.dryRun, policy: policy, verdicts: outcome.verdicts,
                            forgotten: outcome.forgotten.map(\.id.hex))
    }

    /// One line per snapshot, newest first, with every rule that keeps it; then a summary.
    static func describe(_ report: ForgetReport) -> String {
        var out = ""
        for verdict in report.verdicts.sorted(by: { $0.timeNanoseconds > $1.timeNanoseconds }) {
            let reasons = verdict.reasons.map { reason in
                [reason.rule.rawValue, reason.bucket, reason.detail].compactMap { $0 }.joined(separator: " ")
            }
            let state = verdict.state == "complete" ? "" : " [\(verdict.state)]"
            out += "\(verdict.keep ? "keep  " : "forget") \(verdict.id.prefix(12))  \(Terminal.time(verdict.timeNanoseconds))\(state)"
            out += reasons.isEmpty ? "\n" : "  \(reasons.joined(separator: ", "))\n"
        }
        let kept = report.verdicts.filter(\.keep).count
        if report.dryRun {
            out += "dry run: \(report.forgotten.count) of \(report.verdicts.count) snapshots would be forgotten, \(kept) kept; nothing changed\n"
        } else if report.forgotten.isEmpty {
            out += "nothing to forget\n"
        } else {
            out += "forgot \(report.forgotten.count) snapshots of \(report.volume), kept \(kept); run `barge gc` to reclaim the space\n"
        }
        return out
    }
}
