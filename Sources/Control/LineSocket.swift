import Foundation

/// One line each way over a connected Unix socket: the control protocol's framing,
/// shared by the agent and the CLI.
public enum LineSocket {
    public enum Received: Equatable {
        case line([UInt8])
        /// The peer closed (or a read failed) before a whole line came.
        case closed
        case tooLong
    }

    /// Sends `bytes` and a newline; false when the peer went away (no SIGPIPE).
    public static func writeLine(_ fd: Int32, _ bytes: Data) -> Bool {
        var line = bytes
        line.append(UInt8(ascii: "\n"))
        return line.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let wrote = send(fd, raw.baseAddress! + done, raw.count - done, Int32(MSG_NOSIGNAL))
                if wrote < 0 && errno == EINTR { continue }
                guard wrote > 0 else { return false }
                done += wrote
            }
            return true
        }
    }

    /// Reads up to the first newline (not included), at most `limit` bytes.
    public static func readLine(_ fd: Int32, limit: Int) -> Received {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return .closed }
            if let end = buffer[0..<count].firstIndex(of: UInt8(ascii: "\n")) {
                received += buffer[0..<end]
                return received.count <= limit ? .line(received) : .tooLong
            }
            received += buffer[0..<count]
            guard received.count <= limit else { return .tooLong }
        }
    }
}
