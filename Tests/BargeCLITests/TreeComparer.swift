import CLinux
import Foundation
import Repository
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Everything barge promises to keep about a tree, captured with lstat,
/// readlink and llistxattr on byte-string names. Contents are kept as their
/// SHA-256, so a state can be compared after the tree has changed.
struct Manifest {
    struct Entry: Equatable {
        var type: UInt32
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var mtime: Int64
        /// Files and symlinks; 0 for directories, whose st_size is file-system bookkeeping.
        var size: Int64
        var digest: String?
        var target: [UInt8]?
        var xattrs: [[UInt8]: [UInt8]]
        var rdev: UInt64
        // Not compared field by field:
        var inode: UInt64
        var allocated: Int64

        var isFile: Bool { type == S_IFREG }
        var isSparse: Bool { isFile && allocated < size }

        static func == (a: Entry, b: Entry) -> Bool {
            (a.type, a.mode, a.uid, a.gid) == (b.type, b.mode, b.uid, b.gid) && (a.mtime, a.size, a.rdev) == (b.mtime, b.size, b.rdev)
                && a.digest == b.digest && a.target == b.target && a.xattrs == b.xattrs
        }
    }

    /// By path relative to the root; the root itself is `[]`.
    var entries: [[UInt8]: Entry] = [:]

    static func capture(_ root: String) throws -> Manifest {
        var manifest = Manifest()
        let base = RawFS.bytes(root)
        manifest.entries[[]] = try entry(base)
        for relative in try RawFS.walk(base) { manifest.entries[relative] = try entry(RawFS.join(base, relative)) }
        return manifest
    }

    private static func entry(_ path: [UInt8]) throws -> Entry {
        guard let info = RawFS.lstat(path) else { throw RawFS.Failure(description: "lstat \(display(path)) failed") }
        let type = info.st_mode & S_IFMT
        var entry = Entry(type: type, mode: info.st_mode & 0o7777, uid: info.st_uid, gid: info.st_gid,
                          mtime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                          size: type == S_IFDIR ? 0 : Int64(info.st_size), digest: nil, target: nil,
                          xattrs: try xattrs(path), rdev: UInt64(info.st_rdev), inode: UInt64(info.st_ino),
                          allocated: Int64(info.st_blocks) * 512)
        if type == S_IFREG { entry.digest = try digest(path) }
        if type == S_IFLNK {
            var buffer = [UInt8](repeating: 0, count: 4097)
            let count = RawFS.withPath(path) { p in buffer.withUnsafeMutableBytes { readlink(p, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) } }
            guard count >= 0 else { throw RawFS.Failure(description: "readlink \(display(path)) failed") }
            entry.target = Array(buffer[0..<count])
        }
        return entry
    }

    private static func digest(_ path: [UInt8]) throws -> String {
        let fd = RawFS.withPath(path) { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw RawFS.Failure(description: "open \(display(path)): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        var contents = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < contents.count {
            let got = contents.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            guard got > 0 else { throw RawFS.Failure(description: "read \(display(path)) failed") }
            done += got
        }
        return BlobID.hash(contents).hex
    }

    private static func xattrs(_ path: [UInt8]) throws -> [[UInt8]: [UInt8]] {
        let needed = RawFS.withPath(path) { llistxattr($0, nil, 0) }
        guard needed > 0 else { return [:] }
        var names = [CChar](repeating: 0, count: needed)
        let got = RawFS.withPath(path) { llistxattr($0, &names, needed) }
        guard got >= 0 else { throw RawFS.Failure(description: "llistxattr \(display(path)) failed") }
        var out: [[UInt8]: [UInt8]] = [:]
        for name in names[0..<got].split(separator: 0) {
            let cName = Array(name) + [0]
            let size = RawFS.withPath(path) { lgetxattr($0, cName, nil, 0) }
            var value = [UInt8](repeating: 0, count: max(size, 0))
            let read = RawFS.withPath(path) { p in value.withUnsafeMutableBytes { lgetxattr(p, cName, $0.baseAddress, $0.count) } }
            guard size >= 0, read >= 0 else { throw RawFS.Failure(description: "lgetxattr \(display(path)) failed") }
            out[name.map { UInt8(bitPattern: $0) }] = Array(value[0..<read])
        }
        return out
    }

    static func display(_ path: [UInt8]) -> String {
        path.isEmpty ? "." : String(decoding: path, as: UTF8.self).replacingOccurrences(of: "\n", with: "\\n")
    }

    // MARK: views

    /// The part below `relative`, re-rooted there.
    func subtree(_ relative: String) -> Manifest {
        let prefix = RawFS.bytes(relative)
        var out = Manifest()
        for (path, entry) in entries {
            if path == prefix { out.entries[[]] = entry }
            if path.count > prefix.count + 1, path.starts(with: prefix + [UInt8(ascii: "/")]) {
                out.entries[Array(path[(prefix.count + 1)...])] = entry
            }
        }
        return out
    }

    var files: [[UInt8]: Entry] { entries.filter { $0.value.isFile } }
    var directories: [[UInt8]: Entry] { entries.filter { !$0.key.isEmpty && $0.value.type == S_IFDIR } }

    /// Paths that share an inode with `path` (itself included).
    private func linkGroup(of path: [UInt8]) -> Set<[UInt8]> {
        guard let inode = entries[path]?.inode else { return [] }
        return Set(entries.filter { $0.value.isFile && $0.value.inode == inode }.map(\.key))
    }

    /// Every way `other` differs from this manifest, as readable lines.
    func differences(to other: Manifest) -> [String] {
        var out: [String] = []
        for path in Set(entries.keys).union(other.entries.keys).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            let name = Self.display(path)
            guard let a = entries[path] else { out.append("\(name): only in the copy"); continue }
            guard let b = other.entries[path] else { out.append("\(name): missing from the copy"); continue }
            if a != b { out.append("\(name): \(Self.describe(a)) != \(Self.describe(b))") }
            if a.isSparse && !b.isSparse { out.append("\(name): sparse (\(a.allocated) of \(a.size) bytes allocated) but the copy allocates \(b.allocated)") }
            if a.isFile && b.isFile {
                let ours = linkGroup(of: path), theirs = other.linkGroup(of: path)
                if ours != theirs {
                    out.append("\(name): hard links \(ours.map(Self.display).sorted()) != \(theirs.map(Self.display).sorted())")
                }
            }
        }
        return out
    }

    private static func describe(_ e: Entry) -> String {
        let octal = String(e.mode, radix: 8), type = String(e.type >> 12, radix: 8)
        let attributes = e.xattrs.keys.map { String(decoding: $0, as: UTF8.self) }.sorted()
        return "{type \(type) mode \(octal) uid \(e.uid) gid \(e.gid) mtime \(e.mtime) size \(e.size) sha \(e.digest?.prefix(12) ?? "-") "
            + "target \(e.target.map { display($0) } ?? "-") xattrs \(attributes)}"
    }
}

/// Requires `actual` (a tree on disk) to match `expected` in every detail.
func expectSameTree(_ expected: Manifest, _ actualPath: String, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    let actual = try Manifest.capture(actualPath)
    let differences = expected.differences(to: actual)
    #expect(differences.isEmpty, "\(what): \(differences.count) differences:\n\(differences.prefix(25).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
}

extension timespec {
    var nanoseconds: Int64 { Int64(tv_sec) * 1_000_000_000 + Int64(tv_nsec) }
}
