/// Line numbers of the tables and keys in a TOML text, because TOMLKit's
/// parsed tables carry no positions.
///
/// Paths are key components with array-of-tables elements as "[n]" parts:
/// the `owner` under the second `[[volume]]` is `["volume", "[1]", "owner"]`.
/// Run only on text TOMLKit accepted, so the scanner can trust the syntax;
/// keys inside inline tables are not recorded and resolve to their parent's line.
struct SourceMap: Sendable {
    private var lines: [[String]: Int] = [:]
    /// How many elements each array of tables has so far, by resolved path.
    private var arrayCounts: [[String]: Int] = [:]
    /// The first `\u0000` escape: TOMLKit passes strings through C and cuts
    /// them at a NUL, so such values must be rejected here.
    private(set) var nulEscape: (path: [String], line: Int)?
    private var currentKey: [String] = []

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1

    init(text: String) {
        bytes = Array(text.utf8)
        scan()
    }

    /// The line of `path`, else of its nearest recorded ancestor; nil for the root.
    func line(of path: [String]) -> Int? {
        var path = path
        while !path.isEmpty {
            if let line = lines[path] { return line }
            path.removeLast()
        }
        return nil
    }

    // MARK: - Scanning

    private mutating func scan() {
        var table: [String] = []
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: "\n"):
                line += 1
                index += 1
            case UInt8(ascii: "#"):
                skipComment()
            case UInt8(ascii: "["):
                table = header()
            default:
                let start = line
                let keys = keyPath(until: UInt8(ascii: "="))
                // Valid TOML always has the "=" here; anything else is left to the loop.
                guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { continue }
                index += 1
                currentKey = table + keys
                record(currentKey, start)
                skipValue()
            }
        }
    }

    /// Reads `[a.b]` or `[[a.b]]` and returns the table's resolved path.
    private mutating func header() -> [String] {
        let start = line
        let isArray = index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "[")
        index += isArray ? 2 : 1
        let keys = keyPath(until: UInt8(ascii: "]"))
        index += isArray ? 2 : 1
        var path = resolve(Array(keys.dropLast()))
        path.append(keys.last ?? "")
        if isArray {
            record(path, start)  // the array as a whole, for "expected a table" errors
            let count = (arrayCounts[path] ?? 0) + 1
            arrayCounts[path] = count
            path.append("[\(count - 1)]")
        } else if let count = arrayCounts[path] {
            // `[volume]` after `[[volume]]` is a syntax error, but stay total.
            path.append("[\(count - 1)]")
        }
        record(path, start)
        return path
    }

    /// Inserts the current element index after every array-of-tables prefix,
    /// so `[volume.hooks]` lands under the latest `[[volume]]`.
    private func resolve(_ keys: [String]) -> [String] {
        var path: [String] = []
        for key in keys {
            path.append(key)
            if let count = arrayCounts[path] { path.append("[\(count - 1)]") }
        }
        return path
    }

    private mutating func record(_ path: [String], _ line: Int) {
        if lines[path] == nil { lines[path] = line }
    }

    /// Reads a dotted key (bare, "basic" or 'literal' parts) up to `terminator`,
    /// leaving `index` on the terminator.
    private mutating func keyPath(until terminator: UInt8) -> [String] {
        var keys: [String] = []
        var current: [UInt8] = []
        while index < bytes.count, bytes[index] != terminator, bytes[index] != UInt8(ascii: "\n") {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                current += quotedKey(quote: byte)
            case UInt8(ascii: "."):
                keys.append(String(decoding: current, as: UTF8.self))
                current = []
                index += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"):
                index += 1
            default:
                current.append(byte)
                index += 1
            }
        }
        keys.append(String(decoding: current, as: UTF8.self))
        return keys
    }

    /// The content of a quoted key; only `\"` and `\\` escapes are decoded,
    /// enough to match the plain key names this config uses.
    private mutating func quotedKey(quote: UInt8) -> [UInt8] {
        var content: [UInt8] = []
        index += 1
        while index < bytes.count, bytes[index] != quote {
            if quote == UInt8(ascii: "\""), bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count {
                index += 1
            }
            content.append(bytes[index])
            index += 1
        }
        index += 1
        return content
    }

    /// Skips a value up to the newline that ends it, counting lines inside
    /// multi-line strings and arrays.
    private mutating func skipValue() {
        var depth = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                skipString(quote: bytes[index])
                continue
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            case UInt8(ascii: "#"):
                skipComment()
                continue
            case UInt8(ascii: "\n"):
                if depth <= 0 { return }
                line += 1
            default:
                break
            }
            index += 1
        }
    }

    private mutating func skipComment() {
        while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
    }

    /// Skips a basic or literal string, single- or multi-line.
    private mutating func skipString(quote: UInt8) {
        let escapes = quote == UInt8(ascii: "\"")
        let multiline = index + 2 < bytes.count && bytes[index + 1] == quote && bytes[index + 2] == quote
        index += multiline ? 3 : 1
        while index < bytes.count {
            let byte = bytes[index]
            if escapes, byte == UInt8(ascii: "\\") {
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { line += 1 }
                if nulEscape == nil, isNULEscape(at: index + 1) { nulEscape = (currentKey, line) }
                index += 2
                continue
            }
            if byte == UInt8(ascii: "\n") { line += 1 }
            if byte == quote {
                if !multiline {
                    index += 1
                    return
                }
                if index + 2 < bytes.count, bytes[index + 1] == quote, bytes[index + 2] == quote {
                    index += 3
                    // Up to two more quotes may belong to the content: `""""" ` ends after five.
                    var extra = 0
                    while extra < 2, index < bytes.count, bytes[index] == quote {
                        index += 1
                        extra += 1
                    }
                    return
                }
            }
            index += 1
        }
    }

    /// `u0000` or `U00000000` at `start`, the escapes that decode to NUL.
    private func isNULEscape(at start: Int) -> Bool {
        guard start < bytes.count else { return false }
        let digits = bytes[start] == UInt8(ascii: "u") ? 4 : bytes[start] == UInt8(ascii: "U") ? 8 : 0
        guard digits > 0, start + digits < bytes.count else { return false }
        return bytes[(start + 1)...(start + digits)].allSatisfy { $0 == UInt8(ascii: "0") }
    }
}
