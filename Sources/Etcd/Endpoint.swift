/// One client URL of an etcd member: http or https, host and port. Paths are
/// not allowed; the gateway's routes are fixed.
struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    let secure: Bool
    let host: String
    let port: Int

    /// The URL in one normal form, so the same member learned twice is one endpoint.
    var description: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "https" : "http")://\(shown):\(port)"
    }

    /// Host and port as the Host header writes them.
    var authority: String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    init?(_ url: String) {
        var rest = Substring(url)
        if rest.hasPrefix("http://") {
            secure = false
            rest = rest.dropFirst(7)
        } else if rest.hasPrefix("https://") {
            secure = true
            rest = rest.dropFirst(8)
        } else {
            return nil
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@") else { return nil }
        var portText: Substring?
        if rest.hasPrefix("[") {
            // An IPv6 literal: [::1]:2379.
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        guard !host.isEmpty else { return nil }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { return nil }
            self.port = port
        } else {
            port = 2379
        }
    }
}
