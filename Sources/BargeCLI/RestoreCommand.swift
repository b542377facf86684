import ArgumentParser
import Foundation
import Repository
import Snapshots

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a volume, a directory or a file from a snapshot.",
        discussion: """
            --target DIR must not exist or be empty; the restore is staged beside it and renamed into place.
            --in-place replaces the live volume (or --path in it); the current state is snapshotted first.
            With --path, a directory's contents become the target; a file is placed inside the target.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The volume.") var name: String
    @OptionGroup var choice: SnapshotChoice
    @Option(name: .customLong("path"), help: "Restore only this path, relative to the volume root.") var subpath: String?
    @Option(name: .customLong("target"), help: "Where to restore: a new or empty directory.") var target: String?
    @Flag(name: .customLong("in-place"), help: "Replace the live data; snapshots the current state first.") var inPlace = false

    func validate() throws {
        if (target == nil) == !inPlace { throw ValidationError("give exactly one of --target DIR and --in-place") }
        if let subpath, subpath.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
            throw ValidationError("--path must not contain '.' or '..' components")
        }
    }

    func run() throws {
        let engine = SnapshotEngine(stateDirectory: global.resolvedStateDirectory)
        let progress = ProgressLine()
        let report: (RestoreStatistics, String) -> Void = { stats, path in
            progress.update("\(stats.files) files, \(Terminal.bytes(stats.bytesWritten))  \(path)")
        }
        let outcome = inPlace
            ? try engine.restoreInPlace(volume: name, choice.selector, subpath: subpath, progress: report)
            : try engine.restore(volume: name, choice.selector, subpath: subpath, target: target!, progress: report)
        progress.finish()
        let stats = outcome.result.statistics
        if global.json {
            Terminal.json([
                "snapshot": outcome.snapshot.id.hex, "target": outcome.target, "files": stats.files,
                "dirs": stats.directories, "hard_links": stats.hardLinks, "bytes_written": stats.bytesWritten,
                "duration_s": outcome.seconds, "safety_snapshot": outcome.safetySnapshot?.hex ?? NSNull(),
                "warnings": outcome.result.warnings.map { ["path": $0.path, "error": $0.message] },
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
}
