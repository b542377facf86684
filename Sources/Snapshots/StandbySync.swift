import CLinux
import Foundation
import Repository

public struct StandbyStatistics: Sendable, Equatable {
    public var rebuilt = false
    public var entriesReplaced = 0
    public var entriesRemoved = 0
    /// Large files rebuilt from their old version plus the new chunks.
    public var filesPatched = 0
    /// Of those, files whose changed chunks were written over the old file where they lie.
    public var filesPatchedInPlace = 0
    public var bytesWritten: UInt64 = 0
}

/// Keeps a standby copy of a volume equal to a snapshot, changing only what
/// differs: unchanged subtrees (same tree id) are skipped without a look at
/// the disk. Each changed entry is written complete in a staging directory
/// beside it, then renamed over the old one; the exception is a large file
/// whose chunks mostly kept their offsets (a database's pages), which is
/// patched where it lies so the cost is the change, not the file. The caller
/// marks the copy `updating` for the whole pass: a pass cut short is redone
/// from scratch, and such a copy is never promoted. Everything is synced
/// before the caller records the new snapshot.
public final class StandbySync {
    private let store: Store
    private let options: RestoreOptions
    private let decompressor = Decompressor()
    private var statistics = StandbyStatistics()
    private lazy var patcher = FilePatcher(store: store, decompressor: decompressor)

    public init(store: Store, options: RestoreOptions = RestoreOptions()) {
        self.store = store
        self.options = options
    }

    /// Makes `directory` equal to `target`. `current` is the snapshot it equals
    /// now; nil (or a missing directory) rebuilds it from scratch.
    public func update(directory: String, from current: StoredSnapshot?, to target: StoredSnapshot) throws -> StandbyStatistics {
        statistics = StandbyStatistics()
        var info = stat()
        guard let current, lstat(directory, &info) == 0, info.st_mode & 0o170000 == 0o040000 else {
            try rebuild(directory, target)
            return statistics
        }
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw RepositoryError.system("open", path: directory) }
        defer { close(descriptor) }
        do {
            if current.record.root != target.record.root {
                try sync(old: current.record.root, new: target.record.root, in: descriptor, relative: [])
            }
        } catch StandbyRebuild.hardLinks {
            // Hard-link groups can span directories; only a whole restore keeps them exact.
            try rebuild(directory, target)
            return statistics
        }
        let rootEntry = try RootMetadata.decode(target.record.rootMetadata)
        let metadata = MetadataWriter(applyOwnership: options.applyOwnership, stagingRoot: FileSystem.bytes(directory))
        metadata.apply(rootEntry, descriptor: descriptor, path: [])
        guard barge_syncfs(descriptor) == 0 else {
            throw RepositoryError(.io, "syncfs of the standby \(directory) failed: \(String(cString: strerror(errno)))")
        }
        return statistics
    }

    private enum StandbyRebuild: Error { case hardLinks }

    private func rebuild(_ directory: String, _ target: StoredSnapshot) throws {
        let staging = try buildStaging(beside: directory, target)
        try Self.install(staging, at: directory)
    }

    /// Writes a complete copy of `target` (synced) into a new staging directory
    /// beside `directory` and returns its path; `install` moves it into place.
    /// With `arrivals`, `target` is still being received: the copy is written
    /// as its blobs become readable. Nothing is left behind when it throws.
    public func buildStaging(beside directory: String, _ target: StoredSnapshot, arrivals: BlobArrivals? = nil) throws -> String {
        statistics = StandbyStatistics()
        statistics.rebuilt = true
        Paths.removeStaleStaging(beside: directory, purpose: "standby")
        let staging = try Paths.makeStaging(beside: directory, purpose: "standby")
        do {
            let restorer = Restorer(store: store, options: options, arrivals: arrivals)
            try restorer.restore(target, subpath: nil, intoEmpty: staging)
            statistics.bytesWritten = restorer.lastResult.statistics.bytesWritten
        } catch {
            Paths.removeTree(staging)
            throw error
        }
        return staging
    }

    /// What the last `update` or `buildStaging` did.
    public var lastStatistics: StandbyStatistics { statistics }

    /// Puts a staging copy from `buildStaging` at `directory`, replacing what is there.
    public static func install(_ staging: String, at directory: String) throws {
        do {
            let parent = Paths.parent(directory), name = (directory as NSString).lastPathComponent
            let stagingName = (staging as NSString).lastPathComponent
            let parentFD = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard parentFD >= 0 else { throw RepositoryError.system("open", path: parent) }
            defer { close(parentFD) }
            try Paths.replace(name, in: parentFD, with: stagingName, from: parentFD, path: directory)
            // The old copy now sits at the staging name.
            Paths.removeEntry(in: parentFD, name: stagingName)
        } catch {
            Paths.removeTree(staging)
            throw error
        }
    }

    /// Removes a staging copy that will not be installed.
    public static func discard(_ staging: String) { Paths.removeTree(staging) }

    private var entryMetadata: MetadataWriter { MetadataWriter(applyOwnership: options.applyOwnership, stagingRoot: []) }

    private func loadTree(_ id: BlobID) throws -> Tree {
        try Tree.decode(try store.read(id, kind: .tree, using: decompressor))
    }

    private func sync(old: BlobID, new: BlobID, in directory: Int32, relative: [UInt8]) throws {
        let before = try loadTree(old).entries, after = try loadTree(new).entries
        var replacements: [TreeEntry] = []
        var previous: [[UInt8]: TreeEntry] = [:]
        var i = 0, j = 0
        while i < before.count || j < after.count {
            let order = i == before.count ? 1 : j == after.count ? -1 : ByteOrder.compare(before[i].name, after[j].name)
            if order < 0 {
                Paths.removeEntry(in: directory, bytes: before[i].name)
                statistics.entriesRemoved += 1
                i += 1
                continue
            }
            if order > 0 {
                replacements.append(after[j])
                j += 1
                continue
            }
            let was = before[i], now = after[j]
            i += 1
            j += 1
            if was.sameContentAndMetadata(as: now) && was.linkGroup == now.linkGroup { continue }
            if was.kind == .directory, now.kind == .directory, let oldTree = was.subtree, let newTree = now.subtree {
                let child = FileSystem.open(at: directory, now.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                guard child >= 0 else { replacements.append(now); continue }
                defer { close(child) }
                if oldTree != newTree { try sync(old: oldTree, new: newTree, in: child, relative: FileSystem.join(relative, now.name)) }
                let metadata = MetadataWriter(applyOwnership: options.applyOwnership, stagingRoot: [])
                metadata.apply(now, descriptor: child, path: FileSystem.join(relative, now.name))
                continue
            }
            let path = FileSystem.join(relative, now.name)
            if let writes = FilePatcher.inPlaceRewrites(new: now, old: was),
               let written = try patcher.patchInPlace(now, over: was, writing: writes, in: directory, metadata: entryMetadata, path: path) {
                statistics.filesPatched += 1
                statistics.filesPatchedInPlace += 1
                statistics.bytesWritten += written
                continue
            }
            replacements.append(now)
            previous[now.name] = was
        }
        if !replacements.isEmpty { try replace(replacements, previous: previous, in: directory, relative: relative) }
    }

    /// Writes the entries complete in a staging directory inside `directory`,
    /// then moves each over whatever has its name.
    private func replace(_ entries: [TreeEntry], previous: [[UInt8]: TreeEntry], in directory: Int32, relative: [UInt8]) throws {
        if entries.contains(where: { $0.kind == .file && $0.linkGroup != 0 }) { throw StandbyRebuild.hardLinks }
        let stagingName = try Paths.makeStaging(in: directory, purpose: "standby")
        defer { Paths.removeEntry(in: directory, name: stagingName) }
        let staging = FileSystem.open(at: directory, Array(stagingName.utf8), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        guard staging >= 0 else { throw FileSystem.error("open", FileSystem.join(relative, Array(stagingName.utf8))) }
        defer { close(staging) }
        // Large files that kept most of their chunks are built from their old version.
        var whole: [TreeEntry] = []
        let metadata = entryMetadata
        for entry in entries {
            guard let old = previous[entry.name], FilePatcher.applies(new: entry, old: old),
                  let read = try patcher.build(entry, from: old, in: directory, into: staging, metadata: metadata,
                                               path: FileSystem.join(relative, entry.name)) else {
                whole.append(entry)
                continue
            }
            statistics.filesPatched += 1
            statistics.bytesWritten += read
        }
        if !whole.isEmpty {
            let restorer = Restorer(store: store, options: options)
            try restorer.restore(entries: whole, intoEmptyDirectory: staging, syncing: false)
            if restorer.lastResult.statistics.linkGroupMembers > 0 { throw StandbyRebuild.hardLinks }
            statistics.bytesWritten += restorer.lastResult.statistics.bytesWritten
        }
        for entry in entries {
            var info = stat()
            let exists = FileSystem.withCString(entry.name) { fstatat(directory, $0, &info, AT_SYMLINK_NOFOLLOW) } == 0
            let result = FileSystem.withCString(entry.name) { name in
                exists ? barge_exchange(staging, name, directory, name) : renameat(staging, name, directory, name)
            }
            guard result == 0 else { throw FileSystem.error(exists ? "renameat2(RENAME_EXCHANGE)" : "rename", FileSystem.join(relative, entry.name)) }
            statistics.entriesReplaced += 1
        }
    }
}
