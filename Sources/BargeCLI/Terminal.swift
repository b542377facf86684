import Foundation

/// Output helpers: JSON on stdout, text on stdout, errors and progress on stderr.
enum Terminal {
    static let stderrIsTerminal = isatty(2) == 1

    /// `barge: error: MESSAGE`, and `  hint: HINT` on the next line when there is one.
    static func error(_ message: String, hint: String? = nil) {
        FileHandle.standardError.write(Data("barge: error: \(message)\n\(hintLine(hint))".utf8))
    }

    /// On a terminal the progress line is cleared first; it is drawn again at its next update.
    static func warning(_ message: String, hint: String? = nil) {
        let clear = stderrIsTerminal ? "\r\u{1B}[K" : ""
        FileHandle.standardError.write(Data("\(clear)barge: warning: \(message)\n\(hintLine(hint))".utf8))
    }

    private static func hintLine(_ hint: String?) -> String { hint.map { "  hint: \($0)\n" } ?? "" }

    static func json(_ value: Any) {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func bytes(_ count: some BinaryInteger) -> String {
        let value = Double(count)
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = value, unit = 0
        while scaled >= 1024 && unit < units.count - 1 { scaled /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", scaled, units[unit])
    }

    static func time(_ nanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(nanoseconds) / 1e9))
    }
}

/// A single self-overwriting status line on stderr, only when it is a terminal,
/// at most ten updates a second.
final class ProgressLine {
    private let enabled: Bool
    private var last = Date.distantPast
    private var shown = false

    init(enabled: Bool = Terminal.stderrIsTerminal) { self.enabled = enabled }

    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.1 else { return }
        last = now
        var line = text()
        if line.count > 100 { line = String(line.prefix(97)) + "..." }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        shown = true
    }

    func finish() {
        guard enabled, shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }
}
