import CLinux
import Foundation
import Repository

/// The part of stat(2) barge records.
public struct FileStatus: Sendable, Equatable {
    public let kind: EntryKind
    public let permissions: UInt32
    public let uid: UInt32
    public let gid: UInt32
    public let size: UInt64
    public let mtimeNanoseconds: Int64
    public let ctimeNanoseconds: Int64
    public let inode: UInt64
    public let links: UInt64
    public let device: UInt64
    public let rdev: UInt64
    public let allocatedBytes: UInt64

    init(_ info: stat) {
        switch info.st_mode & 0o170000 {
        case 0o040000: kind = .directory
        case 0o120000: kind = .symlink
        case 0o010000: kind = .fifo
        case 0o020000: kind = .characterDevice
        case 0o060000: kind = .blockDevice
        case 0o140000: kind = .socket
        default: kind = .file
        }
        permissions = info.st_mode & 0o7777
        uid = info.st_uid
        gid = info.st_gid
        size = UInt64(info.st_size)
        mtimeNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        ctimeNanoseconds = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        inode = UInt64(info.st_ino)
        links = UInt64(info.st_nlink)
        device = UInt64(info.st_dev)
        rdev = UInt64(info.st_rdev)
        allocatedBytes = UInt64(info.st_blocks) * 512
    }

    /// Whether a file's content may have changed between two stats.
    func sameVersion(as other: FileStatus) -> Bool {
        size == other.size && mtimeNanoseconds == other.mtimeNanoseconds && ctimeNanoseconds == other.ctimeNanoseconds
    }
}

/// An errno value, for `Result`s of system calls.
struct Errno: Error, Equatable {
    let code: Int32
    init(_ code: Int32) { self.code = code }
    var text: String { String(cString: strerror(code)) }
}

/// Thin, byte-exact wrappers over the system calls the scanner and restorer use.
/// Names are `[UInt8]`: never decoded, never normalized.
enum FileSystem {
    static func error(_ call: String, _ path: [UInt8], _ code: Int32 = errno) -> RepositoryError {
        RepositoryError.system(call, path: TreeEntry.display(path), errno: code)
    }

    static func withCString<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        var terminated = bytes
        terminated.append(0)
        return try terminated.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    static func status(at directory: Int32, _ name: [UInt8]) -> Result<FileStatus, Errno> {
        var info = stat()
        let result = withCString(name) { fstatat(directory, $0, &info, AT_SYMLINK_NOFOLLOW) }
        return result == 0 ? .success(FileStatus(info)) : .failure(Errno(errno))
    }

    /// stat(2) of many names, on several threads for a large directory: the
    /// kernel's lookups are most of what an incremental snapshot costs.
    static func statuses(at directory: Int32, _ names: [[UInt8]], workers: Int) -> [Result<FileStatus, Errno>] {
        var results = [Result<FileStatus, Errno>](repeating: .failure(Errno(0)), count: names.count)
        results.withUnsafeMutableBufferPointer { out in
            names.withUnsafeBufferPointer { names in
                Parallel.forEach(names.count, workers: workers) { index, _ in
                    out[index] = status(at: directory, names[index])
                }
            }
        }
        return results
    }

    static func status(of descriptor: Int32) -> FileStatus? {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? FileStatus(info) : nil
    }

    static func open(at directory: Int32, _ name: [UInt8], _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        withCString(name) { openat(directory, $0, flags | O_CLOEXEC, mode) }
    }

    /// Entry names of an open directory, sorted by bytes, without `.` and `..`.
    /// Reads the directory from its start with getdents64 (the descriptor's
    /// position moves; nothing else uses it).
    static func names(in directory: Int32) -> Result<[[UInt8]], Errno> {
        guard lseek(directory, 0, SEEK_SET) == 0 else { return .failure(Errno(errno)) }
        // All names in one buffer, sorted as (offset, length) pairs with memcmp:
        // sorting arrays of arrays retains and releases on every comparison.
        var buffer: [UInt8] = []
        var spans: [(offset: Int, length: Int)] = []
        var records = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = records.withUnsafeMutableBytes { barge_getdents64(directory, $0.baseAddress, UInt($0.count)) }
            if count < 0 { return .failure(Errno(errno)) }
            if count == 0 { break }
            records.withUnsafeBytes { raw in
                // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                var offset = 0
                while offset + 19 < count {
                    let recordLength = Int(raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt16.self))
                    guard recordLength > 19, offset + recordLength <= count else { break }
                    let name = UnsafeRawBufferPointer(rebasing: raw[(offset + 19)..<(offset + recordLength)])
                    let length = name.firstIndex(of: 0) ?? name.count
                    let isDot = (length == 1 && name[0] == 46) || (length == 2 && name[0] == 46 && name[1] == 46)
                    if !isDot && length > 0 {
                        spans.append((buffer.count, length))
                        buffer.append(contentsOf: name.prefix(length))
                    }
                    offset += recordLength
                }
            }
        }
        return .success(buffer.withUnsafeBufferPointer { bytes in
            spans.sort { a, b in
                let order = memcmp(bytes.baseAddress! + a.offset, bytes.baseAddress! + b.offset, min(a.length, b.length))
                return order != 0 ? order < 0 : a.length < b.length
            }
            return spans.map { Array(bytes[$0.offset..<$0.offset + $0.length]) }
        })
    }

    static func readLink(at directory: Int32, _ name: [UInt8]) -> Result<[UInt8], Errno> {
        var buffer = [UInt8](repeating: 0, count: Tree.Limits.symlinkTargetLength + 1)
        let count = withCString(name) { path in
            buffer.withUnsafeMutableBytes { readlinkat(directory, path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        }
        guard count >= 0 else { return .failure(Errno(errno)) }
        guard count <= Tree.Limits.symlinkTargetLength else { return .failure(Errno(ENAMETOOLONG)) }
        return .success(Array(buffer[0..<count]))
    }

    /// Extended attributes, sorted by name; through a descriptor, or a path for
    /// entries that must not be opened (symlinks, fifos, devices).
    static func xattrs(descriptor: Int32?, path: [UInt8]) -> Result<[ExtendedAttribute], Errno> {
        func list(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
            if let descriptor { return flistxattr(descriptor, buffer, size) }
            return withCString(path) { llistxattr($0, buffer, size) }
        }
        func get(_ name: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawPointer?, _ size: Int) -> Int {
            if let descriptor { return fgetxattr(descriptor, name, buffer, size) }
            return withCString(path) { lgetxattr($0, name, buffer, size) }
        }
        let needed = list(nil, 0)
        if needed < 0 { return errno == ENOTSUP ? .success([]) : .failure(Errno(errno)) }
        if needed == 0 { return .success([]) }
        var names = [CChar](repeating: 0, count: needed)
        let got = list(&names, needed)
        guard got >= 0 else { return .failure(Errno(errno)) }
        var result: [ExtendedAttribute] = []
        for rawName in names[0..<got].split(separator: 0) {
            var name = Array(rawName)
            name.append(0)
            let size = get(name, nil, 0)
            guard size >= 0 else { return .failure(Errno(errno)) }
            guard size <= Tree.Limits.xattrValueLength else { return .failure(Errno(E2BIG)) }
            var value = [UInt8](repeating: 0, count: size)
            let read = value.withUnsafeMutableBytes { get(name, $0.baseAddress, size) }
            guard read >= 0 else { return .failure(Errno(errno)) }
            result.append(ExtendedAttribute(name: rawName.map { UInt8(bitPattern: $0) }, value: Array(value[0..<read])))
        }
        result.sort { ByteOrder.precedes($0.name, $1.name) }
        return .success(result)
    }

    static func join(_ base: [UInt8], _ name: [UInt8]) -> [UInt8] {
        base.isEmpty ? name : base + [UInt8(ascii: "/")] + name
    }

    static func bytes(_ path: String) -> [UInt8] { Array(path.utf8) }
}
