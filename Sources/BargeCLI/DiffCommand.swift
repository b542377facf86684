import ArgumentParser
import Repository
import Snapshots

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Show what changed between two snapshots (default: the two newest complete ones).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The volume.") var name: String
    @Argument(help: "The older snapshot (id or prefix).") var from: String?
    @Argument(help: "The newer snapshot (id or prefix; default the newest).") var to: String?

    func run() throws {
        let engine = SnapshotEngine(stateDirectory: global.resolvedStateDirectory)
        let select: (String?) -> SnapshotSelector? = { $0.map { $0 == "latest" ? .latest : .id($0) } }
        let (old, new, result) = try engine.diff(volume: name, from: select(from), to: select(to))
        if global.json {
            Terminal.json(["from": old.id.hex, "to": new.id.hex, "added": result.added,
                           "removed": result.removed, "modified": result.modified])
            return
        }
        for path in result.added { print("+ \(path)") }
        for path in result.removed { print("- \(path)") }
        for path in result.modified { print("M \(path)") }
    }
}
