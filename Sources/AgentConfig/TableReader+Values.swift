/// Domain values (names, paths, endpoints, durations, sizes) read and checked
/// in one step, so each rule lives in one place.
extension TableReader {
    /// Node, peer and volume names become TLS names and file names.
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        let lowerOrDigit: (UInt8) -> Bool = { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
        return lowerOrDigit(bytes[0])
            && bytes.allSatisfy { lowerOrDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    func name(_ key: String, required example: String) throws(ConfigError) -> String {
        let name = try requiredString(key, example: example)
        guard Self.isValidName(name) else {
            throw error(key, "\"\(name)\" is not a valid name",
                        hint: "use 1 to 63 characters a-z, 0-9, '.' and '-', starting with a letter or digit, e.g. \(example)")
        }
        return name
    }

    /// An absolute path without `..`, normalized (no `//`, `.` or
    /// trailing `/`) so volume paths can be compared for nesting.
    func path(_ key: String, default fallback: String? = nil, example: String) throws(ConfigError) -> String {
        let text: String
        if let value = try string(key, example: example) {
            text = value
        } else if let fallback {
            return fallback
        } else {
            throw missing(key, example: example)
        }
        guard text.hasPrefix("/") else {
            throw error(key, "\"\(text)\" is not an absolute path", hint: "start it with /, e.g. \(example)")
        }
        let components = text.split(separator: "/").filter { $0 != "." }
        guard !components.contains("..") else {
            throw error(key, "\"\(text)\" contains a '..' component", hint: "write the path without '..', e.g. \(example)")
        }
        return "/" + components.joined(separator: "/")
    }

    /// A path that may be left out.
    func optionalPath(_ key: String, example: String) throws(ConfigError) -> String? {
        guard table[key] != nil else { return nil }
        return try path(key, example: example)
    }

    /// A boolean that may be left out.
    func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let value = table[key] else { return fallback }
        guard let flag = value.bool else {
            throw error(key, "expected true or false", hint: "write \(key) = true or \(key) = false")
        }
        return flag
    }

    /// A `host:port`; `allowEmpty` maps "" to nil (used to switch metrics off).
    func hostPort(_ key: String, default fallback: HostPort?, allowEmpty: Bool = false,
                  example: String) throws(ConfigError) -> HostPort? {
        guard let text = try string(key, example: example) else { return fallback }
        if allowEmpty, text.isEmpty { return nil }
        switch HostPort.parse(text) {
        case .success(let value):
            return value
        case .failure(let failure):
            var hint = "write host:port, e.g. \(example); put IPv6 addresses in brackets, e.g. \"[::1]:7420\""
            if allowEmpty { hint += "; \"\" turns it off" }
            throw error(key, "\"\(text)\" \(failure.reason)", hint: hint)
        }
    }

    /// Seconds from "500ms", "90s", "5m", "1h", "7d" or "2w"; at least `minimum`
    /// seconds and at most `maximum` (a year unless said), so later conversions
    /// to nanoseconds cannot overflow.
    func duration(_ key: String, default fallback: Double, minimum: (seconds: Double, text: String),
                  maximum: (seconds: Double, text: String) = (8760 * 3600, "8760h")) throws(ConfigError) -> Double {
        guard let text = try string(key, example: "\"60s\"") else { return fallback }
        let hint = "write a number followed by ms, s, m, h, d or w, e.g. \"90s\", \"500ms\" or \"7d\""
        guard let seconds = Quantity.seconds(text) else {
            throw error(key, "\"\(text)\" is not a duration", hint: hint)
        }
        guard seconds >= minimum.seconds else {
            throw error(key, "\"\(text)\" is too short; the minimum is \(minimum.text)", hint: hint)
        }
        guard seconds <= maximum.seconds else {
            throw error(key, "\"\(text)\" is too long; the maximum is \(maximum.text)", hint: hint)
        }
        return seconds
    }

    /// A count that may be left out (0): a whole number from 0 to `maximum`.
    func count(_ key: String, maximum: Int) throws(ConfigError) -> Int {
        guard let value = table[key] else { return 0 }
        guard let number = value.int, number >= 0, number <= maximum else {
            throw error(key, "expected a whole number from 0 to \(maximum)", hint: "write \(key) = 7, or remove the key")
        }
        return number
    }

    /// FastCDC's average chunk size: a power of two in 4 KiB...1 MiB, the
    /// range the Chunking module's `ChunkerParameters` accepts.
    func chunkSize(_ key: String, default fallback: Int) throws(ConfigError) -> Int {
        guard let text = try string(key, example: "\"64KiB\"") else { return fallback }
        let hint = "write a power of two from 4KiB to 1MiB, e.g. \"64KiB\" or \"1MiB\""
        guard let bytes = Quantity.bytes(text) else {
            throw error(key, "\"\(text)\" is not a size", hint: hint)
        }
        guard bytes >= 4096, bytes <= 1_048_576, bytes == bytes.rounded(.down),
              Int(bytes).nonzeroBitCount == 1 else {
            throw error(key, "\"\(text)\" is not a power of two from 4KiB to 1MiB", hint: hint)
        }
        return Int(bytes)
    }

    /// Bytes per second from "20MiB/s"; nil when absent (unlimited).
    func bandwidth(_ key: String) throws(ConfigError) -> Int? {
        guard let text = try string(key, example: "\"20MiB/s\"") else { return nil }
        let hint = "write a number, a unit (B, KB, MB, GB, KiB, MiB, GiB) and /s, e.g. \"20MiB/s\"; omit the key for no limit"
        guard let rate = Quantity.bytesPerSecond(text) else {
            throw error(key, "\"\(text)\" is not a rate", hint: hint)
        }
        guard rate >= 1 else {
            throw error(key, "\"\(text)\" is below 1B/s", hint: hint)
        }
        // 1 PiB/s bounds the Int conversion; no link comes close.
        guard rate <= 1_125_899_906_842_624 else {
            throw error(key, "\"\(text)\" is above 1048576GiB/s", hint: hint)
        }
        return Int(rate.rounded(.down))
    }

    /// An optional command line; an empty one is a mistake, not "no hook".
    func command(_ key: String) throws(ConfigError) -> String? {
        guard let text = try string(key, example: "\"systemctl start app.service\"") else { return nil }
        guard !text.allSatisfy(\.isWhitespace) else {
            throw error(key, "command is empty", hint: "remove the key to run no hook")
        }
        return text
    }
}
