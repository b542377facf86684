import TOMLKit

/// Typed, position-aware access to one TOML table: every failure becomes a
/// `ConfigError` carrying the file, the dotted key and the key's line.
struct TableReader {
    let table: TOMLTable
    /// Source-map path of this table, e.g. `["volume", "[1]", "hooks"]`.
    let path: [String]
    let source: String
    let map: SourceMap

    /// `volume.hooks` for the path above: what a user would search for.
    var displayName: String { path.filter { !$0.hasPrefix("[") }.joined(separator: ".") }

    /// How this table's header is written: `[tls]` or `[[peer]]`.
    var header: String {
        path.last?.hasPrefix("[") == true ? "[[\(displayName)]]" : "[\(displayName)]"
    }

    func displayKey(_ key: String) -> String {
        displayName.isEmpty ? key : "\(displayName).\(key)"
    }

    /// An error at `key`'s line, or at this table's header when `key` is absent.
    func error(_ key: String?, _ message: String, hint: String?) -> ConfigError {
        let line = map.line(of: key.map { path + [$0] } ?? path)
        return ConfigError(source: source, line: line, key: key.map(displayKey) ?? nullIfEmpty(displayName),
                           message: message, hint: hint)
    }

    /// A missing key has no line of its own: point at the table's header.
    func missing(_ key: String, example: String) -> ConfigError {
        ConfigError(source: source, line: map.line(of: path), key: displayKey(key),
                    message: "required key is missing", hint: "add \(key) = \(example) under \(header)")
    }

    private func nullIfEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }

    // MARK: - Shape

    /// Rejects keys outside `allowed`, naming the nearest allowed one, so a
    /// typo such as `intervall` never silently falls back to a default.
    func rejectUnknownKeys(allowed: [String]) throws(ConfigError) {
        // Sorted by line so the first offending key in the file is reported.
        let unknown = table.keys.filter { !allowed.contains($0) }
            .sorted { (map.line(of: path + [$0]) ?? 0) < (map.line(of: path + [$1]) ?? 0) }
        guard let key = unknown.first else { return }
        let isTable = table[key]?.type == .table
        let what = isTable ? "unknown table [\(displayKey(key))]" : "unknown key"
        var hint = "allowed here: \(allowed.joined(separator: ", "))"
        let distances = allowed.map { ($0, Self.editDistance($0, key)) }
        if let near = distances.min(by: { $0.1 < $1.1 }).flatMap({ $0.1 <= 2 ? $0.0 : nil }) {
            hint = "did you mean \"\(near)\"? \(hint)"
        }
        throw error(key, what, hint: hint)
    }

    // MARK: - Values

    /// `example` is a quoted sample value, shown when the type is wrong.
    func string(_ key: String, example: String) throws(ConfigError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else {
            throw typeError(key, value, expected: "a string", example: "\(key) = \(example)")
        }
        return text
    }

    func requiredString(_ key: String, example: String) throws(ConfigError) -> String {
        guard let text = try string(key, example: example) else { throw missing(key, example: example) }
        return text
    }

    func stringArray(_ key: String) throws(ConfigError) -> [String]? {
        guard let value = table[key] else { return nil }
        let example = "\(key) = [\"d1\", \"d2\"]"
        guard let array = value.array else {
            throw typeError(key, value, expected: "an array of strings", example: example)
        }
        var strings: [String] = []
        for element in array {
            guard let text = element.string else {
                throw typeError(key, element, expected: "an array of strings", example: example)
            }
            strings.append(text)
        }
        return strings
    }

    func subtable(_ key: String) throws(ConfigError) -> TableReader? {
        guard let value = table[key] else { return nil }
        guard let child = value.table else {
            throw typeError(key, value, expected: "a table", example: "[\(displayKey(key))]")
        }
        return TableReader(table: child, path: path + [key], source: source, map: map)
    }

    /// The elements of `[[key]]`, each with its own path for line lookups.
    func tableArray(_ key: String) throws(ConfigError) -> [TableReader] {
        guard let value = table[key] else { return [] }
        let example = "[[\(displayKey(key))]] (double brackets)"
        guard let array = value.array else {
            throw typeError(key, value, expected: "an array of tables", example: example)
        }
        var readers: [TableReader] = []
        for (index, element) in array.enumerated() {
            guard let child = element.table else {
                throw typeError(key, element, expected: "an array of tables", example: example)
            }
            readers.append(TableReader(table: child, path: path + [key, "[\(index)]"], source: source, map: map))
        }
        return readers
    }

    private func typeError(_ key: String, _ value: TOMLValueConvertible, expected: String, example: String) -> ConfigError {
        error(key, "expected \(expected), found \(Self.article(value.type))", hint: "write \(example)")
    }

    private static func article(_ type: TOMLType) -> String {
        switch type {
        case .int, .array: "an \(type)"
        case .bool: "a boolean"
        default: "a \(type)"
        }
    }

    /// Levenshtein distance; keys are short, so the quadratic table is fine.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }
}
