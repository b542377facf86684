/// Every failure of the etcd client: a code to act on, a sentence for people,
/// and the lower-level cause when there is one.
public struct EtcdError: Error, CustomStringConvertible, Sendable {
    /// A struct rather than an enum, so that new codes do not break callers' switches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case unavailable, timeout, clusterMismatch, unauthenticated, compacted
            case badResponse, rejected, cancelled, invalidArgument, overflow
        }
        private let kind: Kind
        public var description: String { kind.rawValue }

        /// No endpoint answered (refused, unreachable, or no endpoint left).
        public static let unavailable = Code(kind: .unavailable)
        /// The deadline passed. For a put or txn that was sent, the outcome is
        /// unknown: it may or may not have been applied.
        public static let timeout = Code(kind: .timeout)
        /// An endpoint answered for another cluster than the first answer; it is no longer used.
        public static let clusterMismatch = Code(kind: .clusterMismatch)
        /// Authentication failed, or auth is on and no credentials were given.
        public static let unauthenticated = Code(kind: .unauthenticated)
        /// A watch's start revision was compacted away; `compactRevision` says from where history remains.
        public static let compacted = Code(kind: .compacted)
        /// The answer was malformed, too large, or not what the call expects.
        public static let badResponse = Code(kind: .badResponse)
        /// etcd answered with an error; `gatewayCode` holds its gRPC code.
        public static let rejected = Code(kind: .rejected)
        /// The calling task was cancelled.
        public static let cancelled = Code(kind: .cancelled)
        /// The call's arguments cannot be sent (e.g. a URL that does not parse).
        public static let invalidArgument = Code(kind: .invalidArgument)
        /// A watch's consumer fell too far behind; re-watch from the last revision + 1.
        public static let overflow = Code(kind: .overflow)
    }

    public var code: Code
    public var message: String
    public var underlying: (any Error)?
    /// The gRPC status code from the gateway's error JSON, for `.rejected` (and auth failures).
    public var gatewayCode: Int?
    /// For `.compacted`: the oldest revision still available.
    public var compactRevision: Int64?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil, gatewayCode: Int? = nil, compactRevision: Int64? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.gatewayCode = gatewayCode
        self.compactRevision = compactRevision
    }

    public var description: String {
        var text = "etcd \(code): \(message)"
        if let gatewayCode { text += " (gRPC code \(gatewayCode))" }
        if let underlying { text += ": \(underlying)" }
        return text
    }
}
