import Foundation

/// Every failure of the store, with enough context to act on.
public struct RepositoryError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notInitialized      // no store at the state dir
        case io                  // a system call failed
        case corrupt             // bytes on disk do not match their hash or framing
        case missing             // an object the index names is not there
        case notFound            // the user named something that does not exist
        case invalidArgument     // the user asked for something malformed
        case locked              // another barge process holds the store
        case limitExceeded       // a length field exceeds a named limit
        case index               // SQLite reported an error
    }

    public let code: Code
    public let message: String
    /// What to do about it, shown after the message.
    public let hint: String?
    public let underlying: String?
    /// For a failed system call (and SQLite's "disk full"): the errno, so callers can tell causes apart.
    public let errorNumber: Int32?

    public init(_ code: Code, _ message: String, hint: String? = nil, underlying: (any Error)? = nil, errorNumber: Int32? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.underlying = underlying.map { String(describing: $0) }
        self.errorNumber = errorNumber
    }

    /// A failed system call: names the call, the path and errno's text.
    public static func system(_ call: String, path: String, errno code: Int32 = errno, hint: String? = nil) -> RepositoryError {
        RepositoryError(.io, "\(call) \(path): \(String(cString: strerror(code)))", hint: hint ?? Self.hint(errno: code), errorNumber: code)
    }

    /// The file system (or a quota) had no room left.
    public var isDiskFull: Bool { errorNumber == ENOSPC || errorNumber == EDQUOT }

    /// What a user can do about a system call's failure, for the errors whose remedy is outside barge.
    public static func hint(errno code: Int32) -> String? {
        switch code {
        case EMFILE, ENFILE:
            "too many open files: raise the limit (`ulimit -n` in the shell, `LimitNOFILE=` in the systemd unit) and retry"
        case ENOSPC, EDQUOT:
            "the file system (or the user's quota) is full: free space and retry"
        case EACCES, EPERM:
            "permission denied: run barge as a user who may do this (root to keep owners), or fix the path's permissions"
        case EROFS:
            "the file system is mounted read-only: remount it read-write or choose another path"
        case EIO:
            "the device reported an I/O error: check the disk (dmesg, SMART) before retrying"
        default:
            nil
        }
    }

    public var description: String {
        var text = message
        if let underlying { text += " (\(underlying))" }
        if let hint { text += "\n  hint: \(hint)" }
        return text
    }
}
