import Agent
import AgentConfig
import ArgumentParser
import Foundation

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Run the node agent (normally as the systemd service barge.service).",
        discussion: "SIGTERM stops it cleanly, SIGHUP reloads the config. Logs go to stderr, one event per line.")

    @Option(help: "The config file.") var config: String = AgentConfiguration.defaultPath

    func run() throws {
        let path = config
        do { try AsyncBridge.wait { try await Agent.run(configPath: path) } } catch {
            Terminal.error("agent: \(error)")
            throw ExitCode((error as? AgentError)?.exitCode ?? ExitStatus.error.rawValue)
        }
    }
}
