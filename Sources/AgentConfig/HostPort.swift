/// A `host:port` endpoint; IPv6 literals are written `[::1]:7420` and stored
/// without the brackets.
public struct HostPort: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[ipv6]:port`; nil when malformed.
    public init?(_ text: String) {
        guard case .success(let value) = Self.parse(text) else { return nil }
        self = value
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Why a text is not a `HostPort`, phrased to follow the quoted value.
    struct ParseFailure: Error, Equatable {
        let reason: String
    }

    static func parse(_ text: String) -> Result<HostPort, ParseFailure> {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                return .failure(.init(reason: "has no closing ] after the IPv6 address"))
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return .failure(.init(reason: "has no :port after the ]")) }
            portText = rest.dropFirst()
            guard host.contains(":"), host.allSatisfy(Self.isIPv6Character) else {
                return .failure(.init(reason: "has no IPv6 address between the brackets"))
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return .failure(.init(reason: "has no :port")) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") {
                return .failure(.init(reason: "looks like a bare IPv6 address; brackets are required"))
            }
            guard !host.isEmpty, host.allSatisfy(Self.isHostnameCharacter) else {
                return .failure(.init(reason: "has no valid host name or address before the :port"))
            }
        }
        // Digits only: Int("+80") would otherwise pass.
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (1...65535).contains(port)
        else {
            return .failure(.init(reason: "has port \"\(portText)\", which is not a number in 1...65535"))
        }
        return .success(HostPort(host: String(host), port: port))
    }

    private static func isHostnameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "-" || c == "_")
    }

    private static func isIPv6Character(_ c: Character) -> Bool {
        // `%` and letters cover zone ids such as fe80::1%eth0.
        c.isASCII && (c.isLetter || c.isNumber || c == ":" || c == "." || c == "%")
    }
}
