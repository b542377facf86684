import Agent
import ArgumentParser
import Foundation

/// Started by the agent beside each container under `[cluster]`; not for people.
struct GuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard", abstract: "Stop a container with its hook once the agent stops renewing its deadline (started by the agent).",
        shouldDisplay: false)

    @Option var deadlineFile: String
    @Option var volume: String
    @Option var path: String
    @Option var epoch: UInt64
    @Option var timeout: Double
    @Option var stop: String

    func run() throws {
        let (file, volume, path, epoch, timeout, stop) = (deadlineFile, volume, path, epoch, timeout, stop)
        let code = try AsyncBridge.wait {
            await GuardProcess.run(deadlineFile: file, volume: volume, path: path, epoch: epoch, timeout: timeout, stop: stop)
        }
        if code != 0 { throw ExitCode(code) }
    }
}
