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
    }

    public let code: Code
    public let message: String
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(code): \(message) (\(underlying))" }
        return "\(code): \(message)"
    }
}
