/// Why the S3 layer refused or failed a request. A struct with a code rather than an enum,
/// so new failure kinds (HTTP, XML) can be added without breaking callers' switches.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A header name that is not an RFC 9110 token, or a header value with a line break.
        public static let invalidHeader = Code("invalidHeader")
        /// A path that does not start with "/".
        public static let invalidPath = Code("invalidPath")
        /// A method that is not an RFC 9110 token.
        public static let invalidMethod = Code("invalidMethod")
        /// A payload hash that is neither 64 lowercase hex digits nor a known literal.
        public static let invalidPayloadHash = Code("invalidPayloadHash")
        /// Empty access key, secret, region or service, or a field with characters
        /// that would break the credential scope.
        public static let invalidCredentials = Code("invalidCredentials")
        /// An endpoint that is not http(s)://host[:port].
        public static let invalidEndpoint = Code("invalidEndpoint")
        public static let invalidBucket = Code("invalidBucket")
        /// No answer: connection refused or reset, TLS failure, timeout.
        public static let transport = Code("transport")
        /// The server answered with an error status; `status` and `serverCode` say which.
        public static let server = Code("server")
        /// An answer larger than the caller's bound.
        public static let responseTooLarge = Code("responseTooLarge")
        /// An answer that is not what S3 sends (bad XML, a missing field).
        public static let malformedResponse = Code("malformedResponse")
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?
    /// For `.server`: the HTTP status and S3's error code ("NoSuchKey", "PreconditionFailed", ...).
    public let status: Int?
    public let serverCode: String?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil,
                status: Int? = nil, serverCode: String? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.status = status
        self.serverCode = serverCode
    }

    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }
}
