/// Where the S3 server listens: scheme, host and port, nothing else (addressing is path-style,
/// so the bucket goes in the path and any S3-compatible server works without DNS).
public struct S3Endpoint: Sendable, Equatable, CustomStringConvertible {
    public let isTLS: Bool
    public let host: String
    public let port: Int

    public init(_ text: String) throws(S3Error) {
        var rest = Substring(text)
        if rest.hasPrefix("https://") {
            isTLS = true
            rest = rest.dropFirst(8)
        } else if rest.hasPrefix("http://") {
            isTLS = false
            rest = rest.dropFirst(7)
        } else {
            throw S3Error(.invalidEndpoint, "endpoint \"\(text)\" must start with http:// or https://")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("@"), !rest.contains(where: \.isWhitespace) else {
            throw S3Error(.invalidEndpoint, "endpoint \"\(text)\" must be scheme://host[:port] with no path (addressing is path-style)")
        }
        var hostPart = rest
        var portNumber = isTLS ? 443 : 80
        // [v6]:port or host:port
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                throw S3Error(.invalidEndpoint, "endpoint \"\(text)\" has a bad port")
            }
            portNumber = port
            hostPart = rest[..<colon]
        }
        guard !hostPart.isEmpty else { throw S3Error(.invalidEndpoint, "endpoint \"\(text)\" has no host") }
        host = String(hostPart)
        port = portNumber
    }

    var isDefaultPort: Bool { port == (isTLS ? 443 : 80) }
    /// What the Host header carries, and therefore what is signed.
    var hostHeader: String { isDefaultPort ? host : "\(host):\(port)" }
    var base: String { (isTLS ? "https://" : "http://") + hostHeader }
    public var description: String { base }
}
