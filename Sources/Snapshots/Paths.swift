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
    public static func checkEmptyOrMissing(_ target: String) throws {
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

    /// Removes the staging directories `makeStaging(beside: target, purpose:)`
    /// made in other processes: one killed while it filled its staging copy
    /// leaves it behind, and only one process writes a given target at a time.
    static func removeStaleStaging(beside target: String, purpose: String) {
        let parent = parent(target), prefix = ".barge-\(purpose)-\((target as NSString).lastPathComponent)-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(prefix) {
            let suffix = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard suffix.count == 2, suffix.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
                  suffix[0] != "\(getpid())" else { continue }
            removeTree(parent + "/" + name)
        }
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

    /// Opens `base`, then each of `components` below it with O_NOFOLLOW: a
    /// symlink (or anything but a directory) on the way is refused, not followed.
    static func openDirectory(_ base: String, below components: some Sequence<String>) throws -> Int32 {
        var fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw RepositoryError.system("open", path: base) }
        var path = base
        for component in components {
            path += "/" + component
            let next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(fd)
            guard next >= 0 else {
                let planted = code == ELOOP || code == ENOTDIR
                throw RepositoryError(planted ? .invalidArgument : .io,
                                      "\(path) is not a directory in the live volume: \(String(cString: strerror(code)))",
                                      hint: planted ? "it may be a symlink; restore with --target and move the data yourself" : nil)
            }
            fd = next
        }
        return fd
    }

    /// Puts `source` (in `sourceDirectory`) at `name` in `parent`: exchanged
    /// atomically with what is there, which ends up at `source`, or renamed
    /// when nothing is. A symlink at `name` is replaced, never followed.
    /// `path` names the place for errors.
    static func replace(_ name: String, in parent: Int32, with source: String, from sourceDirectory: Int32, path: String) throws {
        var info = stat()
        let exists = fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0
        let result = exists ? barge_exchange(sourceDirectory, source, parent, name) : renameat(sourceDirectory, source, parent, name)
        guard result == 0 else { throw RepositoryError.system(exists ? "renameat2(RENAME_EXCHANGE)" : "rename", path: path) }
        fsync(parent)
        if sourceDirectory != parent { fsync(sourceDirectory) }
    }

    /// A directory that is its own file system cannot be swapped by rename.
    static func refuseMountPoint(_ path: String, parent: Int32) throws {
        var own = stat(), above = stat()
        guard lstat(path, &own) == 0, fstat(parent, &above) == 0 else { return }
        if own.st_dev != above.st_dev {
            throw RepositoryError(.invalidArgument, "\(path) is a mount point: an in-place restore of the whole volume cannot swap it",
                                  hint: "restore each top-level entry with --in-place --path NAME, or use --target")
        }
    }

    /// A fresh mode-0700 directory inside `parent`; returns its name.
    static func makeStaging(in parent: Int32, purpose: String) throws -> String {
        for attempt in 0..<100 {
            let name = ".barge-\(purpose)-\(getpid())-\(attempt)"
            if mkdirat(parent, name, 0o700) == 0 { return name }
            guard errno == EEXIST else { throw RepositoryError.system("mkdir", path: name) }
        }
        throw RepositoryError(.io, "cannot create a staging directory")
    }

    /// Removes `name` in `parent` and everything below it, never following a
    /// symlink and never descending into another file system. Returns whether
    /// everything went; what could not be removed is left in place.
    @discardableResult
    static func removeEntry(in parent: Int32, name: String) -> Bool {
        guard case .success(let status) = FileSystem.status(at: parent, Array(name.utf8)) else { return true }
        return removeEntry(in: parent, bytes: Array(name.utf8), device: status.device)
    }

    @discardableResult
    static func removeEntry(in parent: Int32, bytes name: [UInt8]) -> Bool {
        guard case .success(let status) = FileSystem.status(at: parent, name) else { return true }
        return removeEntry(in: parent, bytes: name, device: status.device)
    }

    private static func removeEntry(in parent: Int32, bytes name: [UInt8], device: UInt64) -> Bool {
        guard case .success(let status) = FileSystem.status(at: parent, name) else { return true }
        if status.kind == .directory {
            guard status.device == device else { return false }
            var complete = true
            let child = FileSystem.open(at: parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            if child >= 0 {
                if case .success(let names) = FileSystem.names(in: child) {
                    for entry in names where !removeEntry(in: child, bytes: entry, device: device) { complete = false }
                }
                close(child)
            }
            return FileSystem.withCString(name) { unlinkat(parent, $0, AT_REMOVEDIR) } == 0 && complete
        }
        return FileSystem.withCString(name) { unlinkat(parent, $0, 0) } == 0
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
