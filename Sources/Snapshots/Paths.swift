import CLinux
import Foundation
import Repository

/// Path helpers for staging directories and moving them into place.
public enum Paths {
    public static func absolute(_ path: String) -> String {
        let expanded = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: expanded).standardizedFileURL.path
    }

    static func parent(_ path: String) -> String { (path as NSString).deletingLastPathComponent }

    /// Refuses a target that holds anything: restore never overwrites.
    static func checkEmptyOrMissing(_ target: String) throws {
        var info = stat()
        if lstat(target, &info) != 0 {
            guard errno == ENOENT else { throw RepositoryError.system("stat", path: target) }
            return
        }
        guard info.st_mode & 0o170000 == 0o040000 else {
            throw RepositoryError(.invalidArgument, "restore target \(target) exists and is not a directory",
                                  hint: "name a new directory, or use --in-place to replace the volume's contents")
        }
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []
        guard contents.isEmpty else {
            throw RepositoryError(.invalidArgument, "restore target \(target) is not empty",
                                  hint: "name a new or empty directory, or use --in-place to replace the volume's contents")
        }
    }

    /// A fresh mode-0700 directory on the target's file system, so the final
    /// move is a rename. Missing parents are created.
    static func makeStaging(beside target: String, purpose: String) throws -> String {
        let parent = parent(target)
        do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw RepositoryError(.io, "cannot create \(parent)", underlying: error)
        }
        let base = (target as NSString).lastPathComponent
        for attempt in 0..<100 {
            let candidate = "\(parent)/.barge-\(purpose)-\(base)-\(getpid())-\(attempt)"
            if mkdir(candidate, 0o700) == 0 { return candidate }
            guard errno == EEXIST else { throw RepositoryError.system("mkdir", path: candidate, hint: "check that \(parent) is writable") }
        }
        throw RepositoryError(.io, "cannot create a staging directory in \(parent)")
    }

    /// Renames `staging` to `target` (an empty directory is replaced) and
    /// makes the rename durable.
    static func moveIntoPlace(_ staging: String, _ target: String) throws {
        var info = stat()
        if lstat(target, &info) == 0 {
            guard rmdir(target) == 0 else { throw RepositoryError.system("rmdir", path: target, hint: "the target must be empty") }
        }
        guard rename(staging, target) == 0 else { throw RepositoryError.system("rename", path: staging) }
        syncDirectory(parent(target))
    }

    /// Atomically swaps two directories (renameat2 RENAME_EXCHANGE).
    static func exchange(_ a: String, _ b: String) throws {
        guard barge_exchange(AT_FDCWD, a, AT_FDCWD, b) == 0 else {
            throw RepositoryError.system("renameat2(RENAME_EXCHANGE)", path: "\(a) <-> \(b)")
        }
        syncDirectory(parent(a))
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Makes everything written below `path` durable (syncfs on its file system).
    static func syncFileSystem(of path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = barge_syncfs(fd); close(fd) }
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
