import ArgumentParser
import Foundation

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: "The node's state directory (default: $BARGE_STATE_DIR, else /var/lib/barge).")
    var stateDirectory: String?

    @Flag(help: "Print one JSON document on stdout instead of text.")
    var json = false

    var resolvedStateDirectory: String {
        stateDirectory ?? ProcessInfo.processInfo.environment["BARGE_STATE_DIR"] ?? "/var/lib/barge"
    }

    /// `barge --state-dir DIR snapshot x` is the documented form, but
    /// ArgumentParser only sees options after the subcommand: move the option
    /// into the environment when it comes first.
    static func hoistStateDirectory(_ arguments: [String]) -> [String] {
        var rest = arguments
        guard let first = rest.first, first.hasPrefix("--state-dir") else { return rest }
        if first == "--state-dir", rest.count >= 2 {
            setenv("BARGE_STATE_DIR", rest[1], 1)
            rest.removeFirst(2)
        } else if first.hasPrefix("--state-dir=") {
            setenv("BARGE_STATE_DIR", String(first.dropFirst("--state-dir=".count)), 1)
            rest.removeFirst()
        }
        return rest
    }
}
