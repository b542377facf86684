/// The parts of an HTTP request that Signature Version 4 covers. Path and query are given
/// decoded; the signer does the encoding so that it matches what AWS computes.
public struct SignableRequest: Sendable {
    public var method: String
    /// The decoded path, starting with "/", e.g. "/bucket/key with space".
    public var path: String
    /// Decoded query items in request order; a key without "=" has an empty value.
    public var queryItems: [(name: String, value: String)]
    /// Headers in request order; a repeated name is allowed and its values are joined.
    public var headers: [(name: String, value: String)]
    /// SHA-256 of the body as lowercase hex, or `SignableRequest.unsignedPayload`.
    public var payloadHash: String

    /// S3's literal for a body left out of the signature (streamed uploads over TLS).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of the empty body, the payload hash of every GET.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(method: String, path: String, queryItems: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)] = [], payloadHash: String = SignableRequest.emptyPayloadHash) {
        self.method = method
        self.path = path
        self.queryItems = queryItems
        self.headers = headers
        self.payloadHash = payloadHash
    }
}
