import Agent
import AgentConfig
import ArgumentParser
import Foundation
import Synchronization

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Run the node agent (normally as the systemd service barge.service).",
        discussion: "SIGTERM stops it cleanly, SIGHUP reloads the config. Logs go to stderr, one event per line.")

    @Option(help: "The config file.") var config: String = AgentConfiguration.defaultPath

    func run() throws {
        let failure = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let path = config
        Task {
            do { try await Agent.run(configPath: path) } catch { failure.withLock { $0 = error } }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) {
            Terminal.error("agent: \(error)")
            throw ExitCode((error as? AgentError)?.exitCode ?? ExitStatus.error.rawValue)
        }
    }
}
