import CLinux
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif


/// File system calls on byte-string paths, so names that are not UTF-8 work.
enum RawFS {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static func join(_ base: [UInt8], _ name: [UInt8]) -> [UInt8] { base.isEmpty ? name : base + [UInt8(ascii: "/")] + name }

    static func withPath<T>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (path + [0]).withUnsafeBufferPointer { try $0.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) } }
    }

    static func check(_ result: Int32, _ call: String, _ path: [UInt8]) throws {
        if result != 0 {
            throw Failure(description: "\(call) \(String(decoding: path, as: UTF8.self)): \(String(cString: strerror(errno)))")
        }
    }

    static func mkdir(_ path: [UInt8], mode: mode_t = 0o755) throws {
        try check(withPath(path) { Glibc.mkdir($0, mode) }, "mkdir", path)
    }

    /// Creates or replaces a regular file with `contents`.
    static func write(_ path: [UInt8], _ contents: [UInt8], mode: mode_t = 0o644) throws {
        let fd = withPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { try check(-1, "open", path); return }
        defer { close(fd) }
        var done = 0
        while done < contents.count {
            let wrote = contents.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            guard wrote > 0 else { try check(-1, "write", path); return }
            done += wrote
        }
    }

    /// A file of `size` bytes that is a hole except for `pieces` written at their offsets.
    static func sparse(_ path: [UInt8], size: Int, pieces: [(offset: Int, bytes: [UInt8])]) throws {
        let fd = withPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { try check(-1, "open", path); return }
        defer { close(fd) }
        try check(ftruncate(fd, off_t(size)), "ftruncate", path)
        for piece in pieces {
            let wrote = piece.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(piece.offset)) }
            guard wrote == piece.bytes.count else { try check(-1, "pwrite", path); return }
        }
    }

    static func symlink(_ target: [UInt8], at path: [UInt8]) throws {
        try check(withPath(target) { t in withPath(path) { Glibc.symlink(t, $0) } }, "symlink", path)
    }

    static func link(_ existing: [UInt8], _ new: [UInt8]) throws {
        try check(withPath(existing) { e in withPath(new) { Glibc.link(e, $0) } }, "link", new)
    }

    static func mkfifo(_ path: [UInt8]) throws {
        try check(withPath(path) { Glibc.mkfifo($0, 0o640) }, "mkfifo", path)
    }

    static func setxattr(_ path: [UInt8], _ name: String, _ value: [UInt8]) throws {
        try check(withPath(path) { p in value.withUnsafeBytes { lsetxattr(p, name, $0.baseAddress, $0.count, 0) } }, "setxattr", path)
    }

    static func chmod(_ path: [UInt8], _ mode: mode_t) throws {
        try check(withPath(path) { Glibc.chmod($0, mode) }, "chmod", path)
    }

    static func lchown(_ path: [UInt8], _ uid: uid_t, _ gid: gid_t) throws {
        try check(withPath(path) { Glibc.lchown($0, uid, gid) }, "lchown", path)
    }

    static func setMtime(_ path: [UInt8], nanoseconds: Int64) throws {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        var times = [timespec(tv_sec: 0, tv_nsec: Int((1 << 30) - 2)), // UTIME_OMIT: leave atime
                     timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds - seconds * 1_000_000_000))]
        try check(withPath(path) { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }, "utimensat", path)
    }

    static func lstat(_ path: [UInt8]) -> stat? {
        var info = stat()
        return withPath(path) { Glibc.lstat($0, &info) } == 0 ? info : nil
    }

    /// Entry names of a directory, sorted by bytes.
    static func names(_ path: [UInt8]) throws -> [[UInt8]] {
        guard let stream = withPath(path, { opendir($0) }) else { try check(-1, "opendir", path); return [] }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: UInt8.self, capacity: 256) { Array(UnsafeBufferPointer(start: $0, count: strlen(UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)))) }
            }
            if name != [46] && name != [46, 46] { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Every path below `root` (relative, children before their directory).
    static func walk(_ root: [UInt8], _ relative: [UInt8] = []) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for name in try names(join(root, relative)) {
            let child = join(relative, name)
            if let info = lstat(join(root, child)), info.st_mode & S_IFMT == S_IFDIR { out += try walk(root, child) }
            out.append(child)
        }
        return out
    }

    static func removeTree(_ path: String) throws { try FileManager.default.removeItem(atPath: path) }
}

/// Builds a deterministic tree with every kind of entry barge must keep:
/// files of many sizes (empty, small, MiB-sized, compressible and random),
/// nested and empty directories, relative/absolute/dangling symlinks,
/// hard links, a sparse file, a fifo, names that are not UTF-8 or hold
/// newlines, user xattrs, setuid/setgid/sticky modes, owners, and mtimes with
/// nanoseconds (one before 1970).
struct TreeGenerator {
    var seed: UInt64
    /// Size of each of the two "big" files.
    var bigFile = 3 << 20
    /// Apparent size of the sparse file.
    var sparseSize = 16 << 20
    /// Owners other than root can only be given by root.
    var ownership = geteuid() == 0

    /// Names of entries tests refer to.
    static let nonUTF8: [UInt8] = [0x66, 0xFF, 0xFE, 0x2E, 0x62, 0x69, 0x6E] // "f\xff\xfe.bin"
    static let newline: [UInt8] = Array("line\nbreak.txt".utf8)

    func build(at rootPath: String) throws {
        var rng = SplitMix64(seed: seed)
        let root = RawFS.bytes(rootPath)
        func at(_ relative: String) -> [UInt8] { RawFS.join(root, RawFS.bytes(relative)) }
        func dir(_ relative: String, mode: mode_t = 0o755) throws { try RawFS.mkdir(at(relative), mode: mode) }
        func file(_ relative: String, _ contents: [UInt8], mode: mode_t = 0o644) throws {
            try RawFS.write(at(relative), contents, mode: mode)
            try RawFS.chmod(at(relative), mode) // umask-proof
        }

        if !FileManager.default.fileExists(atPath: rootPath) { try RawFS.mkdir(root) }
        try file("empty", [])
        try file("small.txt", rng.text(1 + rng.below(4000)))
        try dir("docs")
        try file("docs/readme.txt", rng.text(20_000))
        try file("docs/notes.md", rng.text(5_000))
        try dir("data")
        for index in 0..<(6 + rng.below(4)) {
            try file("data/rand-\(index).bin", rng.bytes(1 + rng.below(300_000)))
        }
        try file("data/big-random.bin", rng.bytes(bigFile))
        try file("data/big-text.log", rng.text(bigFile))
        for path in ["nested", "nested/a", "nested/a/b", "nested/a/b/c", "nested/a/b/c/d", "nested/a/b/c/d/e", "nested/a/b/empty", "empty-dir"] {
            try dir(path)
        }
        try file("nested/a/b/c/d/e/deep.txt", rng.text(777))
        try file("nested/a/sibling.bin", rng.bytes(70_000))

        try dir("links")
        try RawFS.symlink(RawFS.bytes("../small.txt"), at: at("links/relative"))
        try RawFS.symlink(RawFS.bytes("/etc/hostname"), at: at("links/absolute"))
        try RawFS.symlink(RawFS.bytes("does/not/exist"), at: at("links/dangling"))
        try RawFS.symlink(RawFS.bytes("../docs"), at: at("links/to-dir"))

        try dir("hard")
        try file("hard/original", rng.bytes(150_000))
        try RawFS.link(at("hard/original"), at("hard/second"))
        try RawFS.link(at("hard/original"), at("nested/a/third"))
        try file("hard/pair-a", rng.text(9_000))
        try RawFS.link(at("hard/pair-a"), at("hard/pair-b"))

        let pieces = [(4096, rng.bytes(4096)), (sparseSize / 2 + 123, rng.bytes(10_000)), (sparseSize - 5000, rng.bytes(1000))]
        try RawFS.sparse(at("sparse.img"), size: sparseSize, pieces: pieces)
        try RawFS.mkfifo(at("fifo"))

        try dir("names")
        for name in [Self.nonUTF8, Self.newline, RawFS.bytes("tab\there"), RawFS.bytes("ütf8-é.txt"),
                     RawFS.bytes(" leading space"), RawFS.bytes("back\\slash"), RawFS.bytes("-dash")] {
            try RawFS.write(RawFS.join(at("names"), name), rng.bytes(rng.below(2000)))
        }
        let oddDirectory = RawFS.join(at("names"), [0x64, 0x69, 0x72, 0xC3, 0x28]) // "dir" + invalid UTF-8
        try RawFS.mkdir(oddDirectory)
        try RawFS.write(RawFS.join(oddDirectory, Self.nonUTF8), rng.bytes(100))

        try dir("xattr")
        try file("xattr/file", rng.text(300))
        try RawFS.setxattr(at("xattr/file"), "user.comment", RawFS.bytes("hello, barge"))
        try RawFS.setxattr(at("xattr/file"), "user.binary", [0, 1, 2, 255, 0] + rng.bytes(200))
        try RawFS.setxattr(at("xattr/file"), "user.empty", [])
        try dir("xattr/dir")
        try RawFS.setxattr(at("xattr/dir"), "user.dir", rng.bytes(64))
        try RawFS.setxattr(root, "user.volume-root", RawFS.bytes("root attribute"))

        try dir("modes")
        try file("modes/setuid", rng.bytes(500), mode: 0o4755)
        try file("modes/setgid", rng.bytes(500), mode: 0o2711)
        try file("modes/readonly", rng.text(100), mode: 0o444)
        try file("modes/private", rng.text(100), mode: 0o600)
        try dir("modes/sticky")
        try file("modes/sticky/inside", rng.text(10))
        try RawFS.chmod(at("modes/sticky"), 0o1777)
        try dir("modes/setgid-dir")
        try RawFS.chmod(at("modes/setgid-dir"), 0o2775)
        try dir("modes/readonly-dir")
        try file("modes/readonly-dir/inside", rng.text(10))
        try RawFS.chmod(at("modes/readonly-dir"), 0o555)

        try dir("old")
        try file("old/pre-epoch.txt", rng.text(50))
        if ownership {
            try dir("owner")
            try file("owner/file", rng.text(100))
            try RawFS.lchown(at("owner/file"), 1234, 5678)
            try RawFS.symlink(RawFS.bytes("file"), at: at("owner/link"))
            try RawFS.lchown(at("owner/link"), 1111, 2222)
            try RawFS.lchown(at("owner"), 4321, 8765)
        }

        // Times last, children before their directory; the root at the very end.
        for relative in try RawFS.walk(root) {
            let nanoseconds = Int64(1_500_000_000 + rng.below(100_000_000)) * 1_000_000_000 + Int64(rng.below(1_000_000_000))
            try RawFS.setMtime(RawFS.join(root, relative), nanoseconds: nanoseconds)
        }
        try RawFS.setMtime(at("old/pre-epoch.txt"), nanoseconds: -1_234_567_891)
        try RawFS.setMtime(at("docs/notes.md"), nanoseconds: 1_700_000_000_999_999_999)
        try RawFS.setMtime(at("docs"), nanoseconds: 1_700_000_001_000_000_001)
        try RawFS.setMtime(root, nanoseconds: 1_600_000_000_123_456_789)
    }

    /// Extra incompressible files under `directory`: `count` files of `size` bytes.
    static func bulk(at directory: String, count: Int, size: Int, seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let base = RawFS.bytes(directory)
        if RawFS.lstat(base) == nil { try RawFS.mkdir(base) }
        for index in 0..<count {
            try RawFS.write(RawFS.join(base, RawFS.bytes("bulk-\(index).bin")), rng.bytes(size))
        }
    }
}
