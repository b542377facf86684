import Crypto

/// Names of objects in a copy, relative to the target's prefix. They carry no content
/// hash, volume or time: random pack names, a generation number for catalogs.
///
///     config                 the copy's id and format (sealed with an empty repository id)
///     data.<64 hex>          a pack: records of chunks, or of trees
///     index.<64 hex>         what the pack of the same name holds
///     catalog.<16 hex>       generation N of the list of snapshots
///
/// No "/" after the target's prefix: listings then never carry a "/" in their query, which
/// moto's signature check (and with it the tests) gets wrong for every client.
enum ObjectName {
    static let config = "config"
    static let dataPrefix = "data."
    static let indexPrefix = "index."
    static let catalogPrefix = "catalog."

    static func newPackID() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { $0.map { hexByte($0) }.joined() }
    }

    static func pack(_ id: String) -> String { dataPrefix + id }
    static func index(_ id: String) -> String { indexPrefix + id }
    static func catalog(_ generation: UInt64) -> String {
        let hex = String(generation, radix: 16)
        return catalogPrefix + String(repeating: "0", count: max(0, 16 - hex.count)) + hex
    }

    /// The pack id of "data.<id>" or "index.<id>" under `prefix`, nil for anything else.
    static func packID(of name: Substring, prefix: String) -> String? {
        guard name.hasPrefix(prefix) else { return nil }
        let id = name.dropFirst(prefix.count)
        guard id.utf8.count == 64, id.utf8.allSatisfy(isLowerHex) else { return nil }
        return String(id)
    }

    static func generation(of name: Substring) -> UInt64? {
        guard name.hasPrefix(catalogPrefix) else { return nil }
        let digits = name.dropFirst(catalogPrefix.count)
        guard digits.utf8.count == 16, digits.utf8.allSatisfy(isLowerHex) else { return nil }
        return UInt64(digits, radix: 16)
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }

    private static let digits = Array("0123456789abcdef")
    private static func hexByte(_ byte: UInt8) -> String { String([digits[Int(byte >> 4)], digits[Int(byte & 15)]]) }
}
