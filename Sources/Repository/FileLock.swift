import Foundation

/// An advisory flock(2) lock on a file in the state directory. The kernel drops
/// it when the process dies, so a kill -9 never leaves the store locked.
public final class FileLock: Sendable {
    private let descriptor: Int32
    public let path: String

    public enum Mode: Sendable { case shared, exclusive }

    /// `recordsHolder`: write our pid into the file, for the message another
    /// process shows when it finds the lock taken.
    public init(path: String, mode: Mode, purpose: String, recordsHolder: Bool = false) throws {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RepositoryError.system("open", path: path) }
        let operation = (mode == .exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB
        if flock(fd, operation) != 0 {
            let code = errno
            let holder = recordsHolder ? (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" : ""
            close(fd)
            if code == EWOULDBLOCK {
                throw RepositoryError(.locked, "cannot \(purpose): another barge process\(holder.isEmpty ? "" : " (pid \(holder))") is using \(path)",
                                      hint: "wait for it to finish, or stop the agent for this state directory")
            }
            throw RepositoryError.system("flock", path: path, errno: code)
        }
        if recordsHolder {
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        descriptor = fd
    }

    /// Unlocks before closing: a flock belongs to the open file, which a child another
    /// thread is spawning shares until its exec (O_CLOEXEC acts only then), so a bare
    /// close could leave the lock held for a moment after its owner let it go.
    deinit {
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
