import Control
import Foundation

/// sd_notify(3) without libsystemd: one datagram per state change to
/// $NOTIFY_SOCKET. Silent when the agent does not run under systemd.
struct SystemdNotifier: Sendable {
    let socketPath: String?
    /// Half of WatchdogSec, as systemd recommends; nil without a watchdog.
    let watchdogInterval: Duration?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let pidMatches = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if pidMatches, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogInterval = .microseconds(Int64(usec / 2))
        } else {
            watchdogInterval = nil
        }
    }

    func notify(_ state: String) {
        guard let socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        // "@name" is an abstract socket.
        guard let address = UnixSocketAddress.make(socketPath) else { return }
        let bytes = Array(state.utf8)
        _ = UnixSocketAddress.with(address) { pointer, length in
            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), pointer, length) }
        }
    }
}
