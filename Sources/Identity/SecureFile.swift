import Foundation

/// Key material on disk: created exclusively (never overwritten), secrets 0600.
enum SecureFile {
    static func createDirectory(_ path: String) throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw IdentityError("cannot create \(path): \(error)")
        }
    }

    static func write(_ text: String, to path: String, secret: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, secret ? 0o600 : 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw IdentityError("cannot create \(path): \(reason)",
                                hint: errno == EEXIST ? "it exists; barge never overwrites keys: move it away first" : nil)
        }
        defer { close(fd) }
        // The umask must not widen or narrow what we asked for.
        fchmod(fd, secret ? 0o600 : 0o644)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw IdentityError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw IdentityError("cannot read \(path)", hint: "check the path and that you may read it")
        }
        return text
    }
}
