import CLinux
import Foundation
import Repository

public struct RestoreOptions: Sendable {
    public var workers: Int
    /// chown needs root; without it files belong to whoever restores them.
    public var applyOwnership: Bool
    /// Called once every byte has been read from the store and written, before the final
    /// sync, with the store's pack descriptors closed: a scratch store is removed here, so
    /// the sync drops its pages instead of writing them. A throw fails the restore.
    public var afterReading: (@Sendable () throws -> Void)?
    public init(workers: Int = Parallel.defaultWorkers, applyOwnership: Bool = geteuid() == 0,
                afterReading: (@Sendable () throws -> Void)? = nil) {
        self.workers = workers
        self.applyOwnership = applyOwnership
        self.afterReading = afterReading
    }
}

public struct RestoreStatistics: Sendable, Equatable {
    public var files = 0
    public var directories = 0
    public var otherEntries = 0
    public var hardLinks = 0
    /// Files that belong to a hard-link group (first members included).
    public var linkGroupMembers = 0
    public var bytesWritten: UInt64 = 0
}

public struct RestoreResult: Sendable {
    public let statistics: RestoreStatistics
    public let warnings: [ScanProblem]
}

/// Recreates a snapshot, or a part of it, in a staging directory beside the
/// target and renames it into place: a failed restore leaves no half-written
/// target. Every entry is created relative to a directory descriptor barge
/// made itself, with O_EXCL and O_NOFOLLOW, so no name can write outside it.
public final class Restorer {
    private let store: Store
    private let options: RestoreOptions
    private let decompressor = Decompressor()
    private let progress: ((RestoreStatistics, String) -> Void)?
    private var throttle = ProgressThrottle()
    private var statistics = RestoreStatistics()
    private var linked: [UInt64: [UInt8]] = [:]
    /// Directories in post-order: their times are set once every file is written.
    private var directories: [(path: [UInt8], entry: TreeEntry)] = []
    private var root: Int32 = -1
    private var sink: RestoreSink!
    private var metadata: MetadataWriter!
    /// Set while the snapshot is still being received: blobs not yet readable are waited for.
    private let arrivals: BlobArrivals?

    public init(store: Store, options: RestoreOptions = RestoreOptions(), arrivals: BlobArrivals? = nil,
                progress: ((RestoreStatistics, String) -> Void)? = nil) {
        self.store = store
        self.options = options
        self.arrivals = arrivals
        self.progress = progress
    }

    /// Restores `snapshot` (or `subpath` of it) so that `target` holds it.
    /// `target` must not exist or be an empty directory.
    public func restore(_ snapshot: StoredSnapshot, subpath: String?, to target: String) throws -> RestoreResult {
        let target = Paths.absolute(target)
        try Paths.checkEmptyOrMissing(target)
        let staging = try Paths.makeStaging(beside: target, purpose: "restore")
        do {
            try restore(snapshot, subpath: subpath, intoEmpty: staging)
            try Paths.moveIntoPlace(staging, target)
        } catch {
            Paths.removeTree(staging)
            throw error
        }
        return lastResult
    }

    /// What the last restore did.
    public var lastResult: RestoreResult { RestoreResult(statistics: statistics, warnings: metadata?.warnings ?? []) }

    /// Whether `subpath` names a directory (or the root) in `snapshot`.
    static func isDirectory(_ snapshot: StoredSnapshot, subpath: String?, store: Store) throws -> Bool {
        try Restorer(store: store).resolve(snapshot, subpath: subpath).kind == .directory
    }

    /// Restores into an existing empty directory (the staging directory).
    func restore(_ snapshot: StoredSnapshot, subpath: String?, intoEmpty directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw RepositoryError.system("open", path: directory) }
        defer { close(descriptor) }
        try restore(snapshot, subpath: subpath, intoEmptyDirectory: descriptor)
    }

    /// Restores into the empty directory open as `directory`. Everything,
    /// including path-based calls, goes through that descriptor, so renaming
    /// or replacing the directory's ancestors meanwhile changes nothing.
    func restore(_ snapshot: StoredSnapshot, subpath: String?, intoEmptyDirectory directory: Int32) throws {
        let entry = try resolve(snapshot, subpath: subpath)
        try restore(entries: [entry], intoEmptyDirectory: directory, rootIsDirectory: entry.kind == .directory, syncing: true)
    }

    /// Creates `entries` inside the empty directory open as `directory`
    /// (their names inside it). With `rootIsDirectory`, the single entry is
    /// the directory itself: its contents go in and its metadata is applied.
    func restore(entries: [TreeEntry], intoEmptyDirectory directory: Int32, rootIsDirectory: Bool = false, syncing: Bool) throws {
        root = directory
        metadata = MetadataWriter(applyOwnership: options.applyOwnership, stagingRoot: FileSystem.bytes("/proc/self/fd/\(directory)"))
        sink = RestoreSink(store: store, workers: options.workers, metadata: metadata, arrivals: arrivals)
        do {
            if rootIsDirectory, let subtree = entries.first?.subtree {
                try restoreTree(subtree, into: root, relative: [])
            } else {
                for entry in entries { try restoreEntry(entry, in: root, relative: []) }
            }
            try sink.drain()
        } catch {
            sink.cancel()
            throw error
        }
        for (path, directory) in directories {
            let descriptor = FileSystem.open(at: root, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            guard descriptor >= 0 else { throw FileSystem.error("open", path) }
            metadata.apply(directory, descriptor: descriptor, path: path)
            close(descriptor)
        }
        if rootIsDirectory, let entry = entries.first { metadata.apply(entry, descriptor: root, path: []) }
        statistics.bytesWritten = sink.bytesWritten
        if syncing, let afterReading = options.afterReading {
            store.closePacks()
            try afterReading()
        }
        guard !syncing || barge_syncfs(root) == 0 else {
            throw RepositoryError(.io, "syncfs failed: \(String(cString: strerror(errno))); the restored data may not be on disk",
                                  hint: "check the target file system (full, read-only, I/O errors) and retry")
        }
    }

    /// The entry to restore: the root directory, or the entry `subpath` names.
    private func resolve(_ snapshot: StoredSnapshot, subpath: String?) throws -> TreeEntry {
        var entry = try RootMetadata.decode(snapshot.record.rootMetadata)
        entry.subtree = snapshot.record.root
        let components = (subpath ?? "").split(separator: "/", omittingEmptySubsequences: true).map { Array($0.utf8) }
        if components.isEmpty { return entry }
        for (depth, name) in components.enumerated() {
            try Tree.validate(name: name)
            guard entry.kind == .directory, let subtree = entry.subtree else {
                throw RepositoryError(.notFound, "\(subpath!): \(components[..<depth].map { TreeEntry.display($0) }.joined(separator: "/")) is not a directory in snapshot \(snapshot.id.short)")
            }
            guard let child = try loadTree(subtree).entry(named: name) else {
                throw RepositoryError(.notFound, "\(subpath!) is not in snapshot \(snapshot.id.short)",
                                      hint: "list the snapshot's files with `barge diff`, or check the path relative to the volume root")
            }
            entry = child
        }
        return entry
    }

    func loadTree(_ id: BlobID) throws -> Tree {
        guard let arrivals else { return try Tree.decode(try store.read(id, kind: .tree, using: decompressor)) }
        // Verified on receipt when it comes from `arrivals`; checked against its id when read from the
        // store, where it is looked for again only after a commit (a query per tree published cost a
        // replica a twentieth of its CPU).
        var lookedAfter: Int?
        return try Tree.decode(try arrivals.wait(for: "tree \(id.short)") { () throws -> [UInt8]? in
            if let raw = arrivals.tree(id) { return raw }
            let commits = arrivals.commitCount
            guard commits != lookedAfter else { return nil }
            lookedAfter = commits
            guard let location = try store.index.location(of: id), location.kind == .tree else { return nil }
            return try store.read(location, using: decompressor)
        })
    }

    private func restoreTree(_ id: BlobID, into directory: Int32, relative: [UInt8]) throws {
        for entry in try loadTree(id).entries {
            try restoreEntry(entry, in: directory, relative: relative)
        }
    }

    private func restoreEntry(_ entry: TreeEntry, in directory: Int32, relative: [UInt8]) throws {
        let path = FileSystem.join(relative, entry.name)
        let name = entry.name
        switch entry.kind {
        case .directory:
            guard FileSystem.withCString(name, { mkdirat(directory, $0, 0o700) }) == 0 else { throw FileSystem.error("mkdir", path) }
            let child = FileSystem.open(at: directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            guard child >= 0 else { throw FileSystem.error("open", path) }
            defer { close(child) }
            if let subtree = entry.subtree { try restoreTree(subtree, into: child, relative: path) }
            directories.append((path, entry))
            statistics.directories += 1
        case .file:
            if entry.linkGroup != 0 { statistics.linkGroupMembers += 1 }
            if entry.linkGroup != 0, let first = linked[entry.linkGroup] {
                let result = FileSystem.withCString(first) { from in
                    FileSystem.withCString(name) { linkat(root, from, directory, $0, 0) }
                }
                if result == 0 { statistics.hardLinks += 1; return }
                metadata.warn(path, "hard link to \(TreeEntry.display(first)) failed (\(String(cString: strerror(errno)))); restored as a separate copy")
            }
            let descriptor = FileSystem.open(at: directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
            guard descriptor >= 0 else { throw FileSystem.error("create", path) }
            if entry.linkGroup != 0 { linked[entry.linkGroup] = path }
            try sink.add(descriptor: descriptor, entry: entry, path: path)
            statistics.files += 1
            if let progress, throttle.due() { progress(statistics, TreeEntry.display(path)) }
        case .symlink:
            let result = FileSystem.withCString(entry.symlinkTarget) { target in
                FileSystem.withCString(name) { symlinkat(target, directory, $0) }
            }
            guard result == 0 else { throw FileSystem.error("symlink", path) }
            metadata.apply(entry, in: directory, name: name, path: path)
            statistics.otherEntries += 1
        case .fifo, .characterDevice, .blockDevice:
            let type: mode_t = entry.kind == .fifo ? 0o010000 : entry.kind == .characterDevice ? 0o020000 : 0o060000
            let result = FileSystem.withCString(name) { mknodat(directory, $0, type | 0o600, dev_t(entry.device)) }
            guard result == 0 else {
                metadata.warn(path, "not restored: mknod: \(String(cString: strerror(errno)))")
                return
            }
            metadata.apply(entry, in: directory, name: name, path: path)
            statistics.otherEntries += 1
        case .socket:
            metadata.warn(path, "socket not restored: the server that owns it creates it")
        }
    }
}
