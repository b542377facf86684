import CLinux
import Control
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The control socket: root-only (mode 0600, and every connection's peer
/// credentials are checked), one JSON request and one JSON answer per connection.
/// Plain blocking sockets on their own threads: SO_PEERCRED needs the descriptor.
final class ControlServer: Service, @unchecked Sendable {
    let core: AgentCore
    private let listening = Mutex<Int32>(-1)

    init(core: AgentCore) { self.core = core }

    func run() async throws {
        let path = core.config.node.controlSocket
        let fd = try Self.listen(at: path)
        listening.withLock { $0 = fd }
        core.logger.notice("control socket ready", metadata: ["path": "\(path)"])
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "barge-control"
        thread.start()
        try? await gracefulShutdown()
        listening.withLock { _ = shutdown($0, Int32(SHUT_RDWR)); close($0); $0 = -1 }
        unlink(path)
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var uid: UInt32 = .max
        guard barge_peer_uid(fd, &uid) == 0, uid == 0 || uid == geteuid() else {
            core.logger.warning("refused a control connection from uid \(uid): the control socket is root-only")
            return
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let response: ControlResponse
        if case let .line(line) = LineSocket.readLine(fd, limit: Self.maxRequestLength) {
            response = handle(line)
        } else {
            response = ControlResponse(ok: false, error: ControlFailure(message: "no request line within the limits", exitCode: 2))
        }
        guard let data = try? ControlJSON.encoder().encode(response) else { return }
        _ = LineSocket.writeLine(fd, data)
    }

    /// A request is a few hundred bytes; anything near this is not one.
    static let maxRequestLength = 1 << 20

    /// Runs the request on the async side and waits: this is a dedicated thread.
    private func handle(_ line: [UInt8]) -> ControlResponse {
        let request: ControlRequest
        do { request = try ControlJSON.decoder().decode(ControlRequest.self, from: Data(line)) } catch {
            return ControlResponse(ok: false, error: ControlFailure(message: "the request does not decode: \(error)", exitCode: 2))
        }
        let result = Mutex<ControlResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        let core = self.core
        Task {
            let response = await ControlCommands(core: core).answer(request)
            result.withLock { $0 = response }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    static func listen(at path: String) throws -> Int32 {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        if ControlClient.agentListens(at: path) {
            throw ControlFailure(message: "another agent already listens on \(path)", hint: "stop it first (systemctl stop barge)")
        }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlFailure(message: "socket: \(String(cString: strerror(errno)))") }
        guard let address = UnixSocketAddress.make(path) else {
            close(fd)
            throw ControlFailure(message: "control_socket \(path) is too long (at most 107 bytes)", hint: "choose a shorter path in [node]")
        }
        // Created 0600 from the start: no window where others could connect.
        let previous = umask(0o177)
        let bound = UnixSocketAddress.with(address) { bind(fd, $0, $1) }
        umask(previous)
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ControlFailure(message: "cannot listen on \(path): \(reason)", hint: "check that \(directory) is writable (the agent runs as root)")
        }
        return fd
    }
}
