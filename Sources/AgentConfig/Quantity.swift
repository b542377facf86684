/// Strict parsers for the unit-suffixed strings in the config: durations
/// ("500ms", "90s", "7d"), sizes ("64KiB") and rates ("20MiB/s").
///
/// The grammar is `digits[.digits]` then an optional space then a unit, nothing
/// else: signs, exponents and unknown units are rejected rather than guessed.
public enum Quantity {
    static let durationUnits: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
    static let sizeUnits: [(String, Double)] = [
        ("B", 1), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9),
        ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824),
    ]
    /// Seconds in "500ms", "90s", "5m", "1h", "7d", "2w"; nil when not a duration.
    public static func seconds(_ text: String) -> Double? {
        scaled(text, units: durationUnits)
    }

    /// Bytes in "64KiB", "1.5MB"; may be fractional, callers decide.
    static func bytes(_ text: String) -> Double? {
        scaled(text, units: sizeUnits)
    }

    /// Bytes per second in "20MiB/s"; the "/s" is required so a size is
    /// never mistaken for a rate.
    static func bytesPerSecond(_ text: String) -> Double? {
        guard text.hasSuffix("/s") else { return nil }
        return scaled(String(text.dropLast(2)), units: sizeUnits)
    }

    private static func scaled(_ text: String, units: [(String, Double)]) -> Double? {
        let numberEnd = text.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? text.endIndex
        let number = text[..<numberEnd]
        var unit = text[numberEnd...]
        if unit.hasPrefix(" ") { unit = unit.dropFirst() }
        guard isDecimal(number), let factor = units.first(where: { $0.0 == unit })?.1,
              let value = Double(number) else { return nil }
        return value * factor
    }

    /// `digits` or `digits.digits`, at most 15 digits so Double stays exact.
    private static func isDecimal(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), text.count <= 16 else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }
}
