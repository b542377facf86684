/// Everything one signing produced: the intermediate strings (kept so that a
/// SignatureDoesNotMatch from a server can be diagnosed against its own canonical request)
/// and the headers to put on the wire.
public struct SigV4Signature: Sendable {
    public let canonicalRequest: String
    public let stringToSign: String
    /// Lowercase hex HMAC-SHA256 of the string to sign.
    public let signature: String
    /// The value of the `Authorization` header.
    public let authorization: String
    /// Headers the signer added and signed (X-Amz-Date, and X-Amz-Security-Token or
    /// X-Amz-Content-Sha256 when they apply); the request must carry them as they are.
    public let addedHeaders: [(name: String, value: String)]

    /// The added headers followed by `Authorization`: what to append to the request.
    public var headersToSend: [(name: String, value: String)] {
        addedHeaders + [(name: "Authorization", value: authorization)]
    }
}
