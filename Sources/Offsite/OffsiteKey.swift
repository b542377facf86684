import Crypto
import Foundation

/// The secret an off-site copy is sealed with. The key file holds 32 random bytes as 64 hex
/// digits; the AEAD key is derived from them with HKDF-SHA256, so the file's bytes are never
/// used directly and other keys (a fingerprint) come from the same file independently.
public struct OffsiteKey: Sendable {
    let sealing: SymmetricKey
    /// Names the key without revealing it: shown by `barge offsite init` and in errors.
    public let fingerprint: String

    static let materialLength = 32

    public init(material: [UInt8]) throws(OffsiteError) {
        guard material.count == Self.materialLength else {
            throw OffsiteError(.badKey, "a key is \(Self.materialLength) bytes, this one has \(material.count)")
        }
        let input = SymmetricKey(data: material)
        let salt = Array("barge offsite".utf8)
        sealing = HKDF<SHA256>.deriveKey(inputKeyMaterial: input, salt: salt,
                                          info: Array("object sealing v1".utf8), outputByteCount: 32)
        let print = HKDF<SHA256>.deriveKey(inputKeyMaterial: input, salt: salt,
                                            info: Array("fingerprint v1".utf8), outputByteCount: 8)
        fingerprint = print.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
    }

    /// Reads a key file: 64 hex digits and an optional newline; the file must not be readable by others.
    public static func load(path: String) throws(OffsiteError) -> OffsiteKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw OffsiteError(.badKey, "key file \(path): \(String(cString: strerror(errno)))",
                               hint: "create one with `barge offsite keygen \(path)` and keep a copy off the cluster: without it nothing in the bucket can be read")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw OffsiteError(.badKey, "key file \(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8)))",
                               hint: "chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path), data.count <= 4096 else {
            throw OffsiteError(.badKey, "key file \(path) cannot be read or is too large")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count == 2 * materialLength, let material = hexBytes(text) else {
            throw OffsiteError(.badKey, "key file \(path) does not hold 64 hex digits",
                               hint: "use the file `barge offsite keygen` wrote, unchanged")
        }
        return try OffsiteKey(material: material)
    }

    /// Writes a new random key file (mode 600); never replaces an existing file.
    public static func generate(path: String) throws(OffsiteError) -> OffsiteKey {
        let material = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let text = material.map { String(format: "%02x", $0) }.joined() + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw OffsiteError(.badKey, "cannot create key file \(path): \(String(cString: strerror(errno)))",
                               hint: errno == EEXIST ? "the file exists; a key is never overwritten (objects sealed with it would be lost)" : nil)
        }
        defer { close(fd) }
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, text.utf8.count) }
        guard written == text.utf8.count, fsync(fd) == 0 else {
            unlink(path)
            throw OffsiteError(.badKey, "cannot write key file \(path): \(String(cString: strerror(errno)))")
        }
        return try OffsiteKey(material: material)
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var high: UInt8?
        for char in text.utf8 {
            let value: UInt8
            switch char {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = char - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = char - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = char - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { bytes.append(h << 4 | value); high = nil } else { high = value }
        }
        return high == nil ? bytes : nil
    }
}
