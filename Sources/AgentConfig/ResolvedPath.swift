#if canImport(Glibc)
import Glibc
#endif

/// A path as the kernel finds it: symlinks followed one component at a time,
/// as realpath(3) does, so two spellings of one directory compare equal.
///
/// Unlike realpath, a path that does not exist yet still resolves: the part
/// below its deepest existing ancestor is kept as written (a replica may not
/// have a volume's directory until a promotion creates it). Every existing
/// directory on the way carries its device and inode, which also catches the
/// second name a bind mount gives a directory.
struct ResolvedPath: Sendable, Equatable {
    struct Identity: Sendable, Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// Why a path cannot name a directory at all.
    enum Failure: Error, Sendable, Equatable {
        /// The path goes on below this existing non-directory.
        case notADirectory(String)
        /// More than `maxSymlinks` symlinks were followed.
        case symlinkLoop
    }

    /// The deepest existing ancestor (or the path itself), without symlinks, `.` or `..`.
    let existing: [String]
    /// Components below `existing` that do not exist, or that could not be looked at.
    let missing: [String]
    /// Device and inode of `/` and of each directory of `existing`: one more than `existing`.
    let identities: [Identity]
    /// Whether the path exists and is a directory.
    let isDirectory: Bool

    /// realpath(3)'s limit is ELOOP after 40.
    static let maxSymlinks = 40
    private static let typeMask: mode_t = 0o170000
    private static let symlinkType: mode_t = 0o120000
    private static let directoryType: mode_t = 0o040000

    var components: [String] { existing + missing }
    var path: String { "/" + components.joined(separator: "/") }
    var exists: Bool { missing.isEmpty }

    /// Resolves an absolute path.
    init(_ path: String) throws(Failure) {
        var pending = Array(path.split(separator: "/").map(String.init).reversed())
        var existing: [String] = []
        var identities = [Self.identity(of: "/") ?? Identity(device: 0, inode: 0)]
        var missing: [String] = []
        var isDirectory = true
        var links = 0
        while let name = pending.popLast() {
            if name == "." { continue }
            if name == ".." {
                if !missing.isEmpty {
                    missing.removeLast()
                } else if !existing.isEmpty {
                    existing.removeLast()
                    identities.removeLast()
                    isDirectory = true
                }
                continue
            }
            // Below a missing component nothing can exist: keep the rest as written.
            guard missing.isEmpty else { missing.append(name); continue }
            guard isDirectory else { throw .notADirectory("/" + existing.joined(separator: "/")) }
            let candidate = "/" + (existing + [name]).joined(separator: "/")
            var info = stat()
            guard lstat(candidate, &info) == 0 else {
                // ENOENT, or EACCES for a user who may not look further.
                missing.append(name)
                continue
            }
            if info.st_mode & Self.typeMask == Self.symlinkType {
                links += 1
                guard links <= Self.maxSymlinks else { throw .symlinkLoop }
                guard let target = Self.linkTarget(candidate) else { missing.append(name); continue }
                if target.hasPrefix("/") {
                    existing = []
                    identities.removeLast(identities.count - 1)
                }
                pending += target.split(separator: "/").map(String.init).reversed()
                continue
            }
            existing.append(name)
            identities.append(Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
            isDirectory = info.st_mode & Self.typeMask == Self.directoryType
        }
        self.existing = existing
        self.missing = missing
        self.identities = identities
        self.isDirectory = missing.isEmpty && isDirectory
    }

    /// Whether this is the root directory, under any name (a symlink or a bind mount of `/`).
    var isRoot: Bool { exists && identities.last == identities.first }

    enum Relation: Sendable, Equatable {
        case same, inside, contains
    }

    /// How this path relates to `other`: the same directory, inside it, or
    /// holding it; nil when they are apart. Decided by device and inode where
    /// the paths exist and by name below that.
    func relation(to other: ResolvedPath) -> Relation? {
        if let relation = Self.descent(of: self, from: other) { return relation }
        switch Self.descent(of: other, from: self) {
        case .inside: return .contains
        case .contains: return .inside
        case .same: return .same
        case nil: return nil
        }
    }

    /// Finds the deepest existing directory of `base` on the chain of `path`
    /// and compares what lies below it on both sides.
    private static func descent(of path: ResolvedPath, from base: ResolvedPath) -> Relation? {
        guard let anchor = base.identities.last, let depth = path.identities.lastIndex(of: anchor) else { return nil }
        let below = Array(path.components.dropFirst(depth))
        let baseBelow = base.missing
        if below == baseBelow { return .same }
        if below.count > baseBelow.count, Array(below.prefix(baseBelow.count)) == baseBelow { return .inside }
        if baseBelow.count > below.count, Array(baseBelow.prefix(below.count)) == below { return .contains }
        return nil
    }

    /// The same relation judged by names alone; what a reader sees in the two strings.
    static func lexicalRelation(_ a: [String], _ b: [String]) -> Relation? {
        if a == b { return .same }
        if a.count > b.count, Array(a.prefix(b.count)) == b { return .inside }
        if b.count > a.count, Array(b.prefix(a.count)) == a { return .contains }
        return nil
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    private static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    private static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
