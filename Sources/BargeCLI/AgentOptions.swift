import AgentConfig
import ArgumentParser
import Control
import Foundation

/// How the CLI finds the local agent's control socket.
struct AgentOptions: ParsableArguments {
    @Option(help: "The agent's control socket (default: $BARGE_SOCKET, else control_socket from --config, else /run/barge/control.sock).")
    var socket: String?

    @Option(help: "The agent's config file, to find its control socket (default: /etc/barge/barge.toml).")
    var config: String?

    func resolvedSocket() throws -> String {
        if let socket { return socket }
        if let fromEnvironment = ProcessInfo.processInfo.environment["BARGE_SOCKET"], !fromEnvironment.isEmpty { return fromEnvironment }
        let path = config ?? AgentConfiguration.defaultPath
        if config != nil || FileManager.default.fileExists(atPath: path) {
            do { return try AgentConfiguration.load(path: path).node.controlSocket } catch {
                throw ValidationError("\(error)")
            }
        }
        return "/run/barge/control.sock"
    }

    /// Whether this invocation should go through an agent: asked for explicitly, or one is listening.
    func agentSocketIfRunning() throws -> String? {
        let explicit = socket != nil || config != nil || ProcessInfo.processInfo.environment["BARGE_SOCKET"].map { !$0.isEmpty } == true
        let path = try resolvedSocket()
        if explicit || ControlClient.agentListens(at: path) { return path }
        return nil
    }

    /// The agent's answer, a failure answer included (for commands that print a partial report first).
    func exchange(_ request: ControlRequest) throws -> ControlResponse {
        try ControlClient(socketPath: try resolvedSocket()).send(request)
    }

    /// Sends a request; a failure answer becomes the agent's message and exit code.
    func send(_ request: ControlRequest, to path: String) throws -> ControlResponse {
        let response = try ControlClient(socketPath: path).send(request)
        if !response.ok, let failure = response.error {
            Terminal.error(failure.description)
            throw ExitCode(failure.exitCode)
        }
        return response
    }
}
