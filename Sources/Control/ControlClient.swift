import Foundation

/// The CLI's side of the control socket: connect, send one request, read one
/// line. Blocking; the CLI does one thing at a time.
public struct ControlClient {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Whether an agent listens there (the socket exists and accepts).
    public static func agentListens(at path: String) -> Bool {
        guard let fd = try? connect(path) else { return false }
        close(fd)
        return true
    }

    public func send(_ request: ControlRequest) throws -> ControlResponse {
        let fd = try Self.connect(socketPath)
        defer { close(fd) }
        guard LineSocket.writeLine(fd, try ControlJSON.encoder().encode(request)) else {
            let code = errno
            // The agent closes on a caller it refuses (not root) before or while
            // the request arrives: the same refusal as a close before the answer.
            if code == EPIPE || code == ECONNRESET { throw closedWithoutAnswer }
            throw ControlFailure(message: "writing to the agent at \(socketPath) failed: \(String(cString: strerror(code)))")
        }
        let answer: [UInt8]
        switch LineSocket.readLine(fd, limit: ControlJSON.maxLineLength) {
        case let .line(line): answer = line
        case .tooLong: throw ControlFailure(message: "the agent's answer exceeds \(ControlJSON.maxLineLength) bytes")
        case .closed: throw closedWithoutAnswer
        }
        do {
            return try ControlJSON.decoder().decode(ControlResponse.self, from: Data(answer))
        } catch {
            throw ControlFailure(message: "the agent's answer does not decode: \(error)", hint: "are the CLI and the agent the same version?")
        }
    }

    /// docs/operations.md names this message (Control socket: permission denied).
    private var closedWithoutAnswer: ControlFailure {
        ControlFailure(message: "the agent at \(socketPath) closed the connection without answering",
                       hint: "see the agent's log (journalctl -u barge)")
    }

    static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ControlFailure(message: "socket: \(String(cString: strerror(errno)))") }
        guard let address = UnixSocketAddress.make(path) else {
            close(fd)
            throw ControlFailure(message: "control socket path \(path) is too long (at most 107 bytes)", exitCode: 2)
        }
        let result = UnixSocketAddress.with(address) { Foundation.connect(fd, $0, $1) }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw ControlFailure(message: "cannot reach the agent at \(path): \(String(cString: strerror(code)))",
                                 hint: code == EACCES ? "the control socket is root-only: run as root"
                                                      : "is `barge agent` running? (systemctl status barge)")
        }
        return fd
    }
}
