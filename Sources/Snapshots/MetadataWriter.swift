import CLinux
import Foundation
import Synchronization
import Repository

/// Applies owner, mode, xattrs and times, in the order that keeps them:
/// chown before chmod (chown clears setuid), times last (xattrs touch ctime only).
/// Failures are warnings: the data is restored even where metadata cannot be.
final class MetadataWriter: @unchecked Sendable {
    /// UTIME_OMIT from <sys/stat.h>: leave atime alone.
    private static let utimeOmit = (1 << 30) - 2

    let applyOwnership: Bool
    let stagingRoot: [UInt8]
    // Files are finished on the restore's writing thread, the rest on its main thread.
    private let collected = Mutex<[ScanProblem]>([])
    var warnings: [ScanProblem] { collected.withLock { $0 } }

    init(applyOwnership: Bool, stagingRoot: [UInt8]) {
        self.applyOwnership = applyOwnership
        self.stagingRoot = stagingRoot
    }

    func warn(_ path: [UInt8], _ message: String) {
        let problem = ScanProblem(path: TreeEntry.display(path.isEmpty ? [46] : path), message: message)
        collected.withLock { $0.append(problem) }
    }

    /// For entries open as a descriptor (files, directories).
    func apply(_ entry: TreeEntry, descriptor: Int32, path: [UInt8]) {
        if applyOwnership && fchown(descriptor, entry.uid, entry.gid) != 0 { warn(path, "owner not set: \(String(cString: strerror(errno)))") }
        if fchmod(descriptor, mode_t(entry.mode)) != 0 { warn(path, "mode not set: \(String(cString: strerror(errno)))") }
        for attribute in entry.xattrs {
            let result = FileSystem.withCString(attribute.name) { name in
                attribute.value.withUnsafeBytes { fsetxattr(descriptor, name, $0.baseAddress, $0.count, 0) }
            }
            if result != 0 { warn(path, "xattr \(TreeEntry.display(attribute.name)) not set: \(String(cString: strerror(errno)))") }
        }
        var times = Self.times(entry)
        if futimens(descriptor, &times) != 0 { warn(path, "times not set: \(String(cString: strerror(errno)))") }
    }

    /// For entries that must not be opened (symlinks, fifos, devices), by name in their directory.
    func apply(_ entry: TreeEntry, in directory: Int32, name: [UInt8], path: [UInt8]) {
        FileSystem.withCString(name) { cName in
            if applyOwnership && fchownat(directory, cName, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0 {
                warn(path, "owner not set: \(String(cString: strerror(errno)))")
            }
            if entry.kind != .symlink && fchmodat(directory, cName, mode_t(entry.mode), 0) != 0 {
                warn(path, "mode not set: \(String(cString: strerror(errno)))")
            }
        }
        let full = FileSystem.join(stagingRoot, path)
        for attribute in entry.xattrs {
            let result = FileSystem.withCString(full) { cPath in
                FileSystem.withCString(attribute.name) { name in
                    attribute.value.withUnsafeBytes { lsetxattr(cPath, name, $0.baseAddress, $0.count, 0) }
                }
            }
            if result != 0 { warn(path, "xattr \(TreeEntry.display(attribute.name)) not set: \(String(cString: strerror(errno)))") }
        }
        var times = Self.times(entry)
        let result = FileSystem.withCString(name) { utimensat(directory, $0, &times, AT_SYMLINK_NOFOLLOW) }
        if result != 0 { warn(path, "times not set: \(String(cString: strerror(errno)))") }
    }

    private static func times(_ entry: TreeEntry) -> [timespec] {
        // Floor division keeps tv_nsec in 0..<1e9 for times before 1970.
        let seconds = entry.mtimeNanoseconds >= 0 ? entry.mtimeNanoseconds / 1_000_000_000 : (entry.mtimeNanoseconds - 999_999_999) / 1_000_000_000
        let modified = timespec(tv_sec: Int(seconds), tv_nsec: Int(entry.mtimeNanoseconds - seconds * 1_000_000_000))
        return [timespec(tv_sec: 0, tv_nsec: Self.utimeOmit), modified]
    }
}
