/// Why a config file was rejected, pointing at the place to fix.
///
/// `line` is nil only when there is no line to point at (an unreadable file,
/// a missing `[tls]` table); `key` is nil for file and syntax errors.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file path (or the name given to `parse`).
    public let source: String
    /// 1-based line in `source`.
    public let line: Int?
    /// Dotted key without array indices, e.g. `volume.owner`.
    public let key: String?
    public let message: String
    /// What to do about it.
    public let hint: String?

    public init(source: String, line: Int?, key: String?, message: String, hint: String?) {
        self.source = source
        self.line = line
        self.key = key
        self.message = message
        self.hint = hint
    }

    /// `file:12: volume.owner: "d9" is neither … (hint: …)`, the compiler-style
    /// prefix lets editors jump to the line.
    public var description: String {
        var text = source
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "\(key): " }
        text += message
        if let hint { text += " (hint: \(hint))" }
        return text
    }
}
