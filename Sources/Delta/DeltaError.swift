import CLibrsync

/// The one error type of the Delta module.
///
/// `code` says whose fault it was (bad input from a peer, a limit we set, or us);
/// `cause` keeps librsync's own verdict when librsync produced one.
public struct DeltaError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable, Hashable {
        /// The signature is malformed, truncated or uses a format we do not accept.
        case badSignature
        /// The delta is malformed, truncated or has trailing bytes.
        case badDelta
        /// The delta copies bytes from beyond the end of the basis.
        case basisTooShort
        /// The output would exceed the caller's bound.
        case limitExceeded
        /// librsync failed on input we produced ourselves, or ran out of memory.
        case `internal`
    }

    /// An `rs_result` from librsync, kept as plain values so callers need not import CLibrsync.
    public struct LibrsyncResult: Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int
        /// The C enumerator, e.g. `RS_CORRUPT`.
        public var name: String
        /// `rs_strerror`'s text, e.g. "unbelievable value in stream".
        public var text: String

        public var description: String { "\(name) (\(text))" }
    }

    public var code: Code
    public var message: String
    public var cause: LibrsyncResult?

    public init(_ code: Code, _ message: String, cause: LibrsyncResult? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(code): \(message): \(cause)" }
        return "\(code): \(message)"
    }
}

extension DeltaError.LibrsyncResult {
    init(_ result: rs_result) {
        let name = switch result {
        case RS_DONE: "RS_DONE"
        case RS_BLOCKED: "RS_BLOCKED"
        case RS_RUNNING: "RS_RUNNING"
        case RS_TEST_SKIPPED: "RS_TEST_SKIPPED"
        case RS_IO_ERROR: "RS_IO_ERROR"
        case RS_SYNTAX_ERROR: "RS_SYNTAX_ERROR"
        case RS_MEM_ERROR: "RS_MEM_ERROR"
        case RS_INPUT_ENDED: "RS_INPUT_ENDED"
        case RS_BAD_MAGIC: "RS_BAD_MAGIC"
        case RS_UNIMPLEMENTED: "RS_UNIMPLEMENTED"
        case RS_CORRUPT: "RS_CORRUPT"
        case RS_INTERNAL_ERROR: "RS_INTERNAL_ERROR"
        case RS_PARAM_ERROR: "RS_PARAM_ERROR"
        default: "rs_result(\(result.rawValue))"
        }
        let text = rs_strerror(result).map { String(cString: $0) } ?? "unknown"
        self.init(rawValue: Int(result.rawValue), name: name, text: text)
    }
}
