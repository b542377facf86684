import CLinux
import Chunking
import Foundation
import Repository

/// Walks a volume and stores it as trees and chunks. Never follows a symlink,
/// never crosses a mount point unless told to, and does not read a file whose
/// size, mtime, ctime and inode match the parent snapshot.
public final class Scanner {
    private let store: Store
    private let options: ScanOptions
    private let chunker: FastCDC
    private let pipeline: ChunkPipeline
    private let decompressor = Decompressor()
    private let progress: ((ScanStatistics, String) -> Void)?
    private var throttle = ProgressThrottle()
    private var prefetcher: TreePrefetcher?
    private var walker: DirectoryWalker?
    /// Allocated on the first file that must be read, and never zeroed: an
    /// incremental snapshot that reads nothing does not pay for it. (Not a
    /// `lazy var`: mutating one in place copies it on every access.)
    private var readBuffer: [UInt8] = []
    private var rootDevice: UInt64 = 0
    private var volumePath: [UInt8] = []
    private var statistics = ScanStatistics()
    private var problems: [ScanProblem] = []
    /// Things the user should know that skipped nothing.
    private var notes: [String] = []
    /// Large files read in this scan with their chunks' fingerprints, remembered once the chunks' ids are known.
    private var fingerprinted: [(path: [UInt8], file: ChunkPipeline.PendingFile, tags: [ChunkFingerprints.Tag])] = []
    /// Files with several links seen in this scan, by link group.
    private var linkGroups: [UInt64: (status: FileStatus, file: ChunkPipeline.PendingFile, xattrs: [ExtendedAttribute])] = [:]

    public init(store: Store, writer: BlobWriter, options: ScanOptions,
                progress: ((ScanStatistics, String) -> Void)? = nil) {
        self.store = store
        self.options = options
        self.chunker = FastCDC(options.chunker)
        self.pipeline = ChunkPipeline(writer: writer, workers: options.workers, codec: store.compression, compressionLevel: options.compressionLevel,
                                      maximumChunk: options.chunker.maximum)
        self.progress = progress
    }

    /// Scans `path`; `parent` (a tree id) lets unchanged files skip reading.
    public func scan(path: String, parent: BlobID?) throws -> ScanResult {
        volumePath = FileSystem.bytes(path)
        let root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else {
            throw RepositoryError.system("open", path: path, hint: "check that the volume path exists and is a readable directory")
        }
        defer { close(root) }
        guard let status = FileSystem.status(of: root) else { throw RepositoryError.system("fstat", path: path) }
        rootDevice = status.device
        let parentTree = parent.flatMap { loadParentTree($0) }
        // Without a parent every file is read: a second thread reads ahead once a file is not cached.
        if parentTree == nil { prefetcher = TreePrefetcher(root: path, crossMounts: options.crossMounts) }
        defer { prefetcher?.stop() }
        let walker = DirectoryWalker(root: root, rootDevice: rootDevice, crossMounts: options.crossMounts, statWorkers: options.workers)
        self.walker = walker
        defer { walker.stop(); self.walker = nil }
        let pendingRoot: ChunkPipeline.PendingTree
        do {
            pendingRoot = try scanDirectory(try nextDirectory(expected: []), parent: parentTree, previous: parentTree == nil ? nil : parent)
        } catch {
            pipeline.cancel()
            if let error = error as? SourceError {
                throw RepositoryError(.io, "cannot read the volume root \(path): \(error.message)", hint: "check the path and its permissions")
            }
            throw error
        }
        try pipeline.finish()
        if let (cache, volume) = options.fingerprints {
            for (path, file, tags) in fingerprinted {
                cache.remember(volume: volume, path: path, ChunkFingerprints.Entry(parameters: options.chunker, chunks: file.chunks, tags: tags))
            }
        }
        guard let tree = pendingRoot.id else { throw RepositoryError(.io, "the root tree of \(path) was not stored") }
        var rootEntry = entry(for: status, name: [UInt8(ascii: ".")])
        rootEntry.subtree = tree
        rootEntry.xattrs = attributes(descriptor: root, relative: [])
        if RootMetadata.encode(rootEntry).count > SnapshotRecord.maxRootMetadataLength {
            report([], "extended attributes of the volume root exceed \(SnapshotRecord.maxRootMetadataLength) bytes; stored without them")
            rootEntry.xattrs = []
        }
        statistics.chunksAdded = pipeline.chunksAdded
        statistics.chunkBytesNew = UInt64(pipeline.chunkBytesNew)
        statistics.treesAdded = pipeline.treesAdded
        return ScanResult(root: tree, rootMetadata: RootMetadata.encode(rootEntry), statistics: statistics, problems: problems, notes: notes)
    }

    /// The parent snapshot's tree, or nil when it cannot be read (damaged):
    /// then every file below is read again, which also re-stores lost chunks.
    /// A tree that fails its check is dropped from the index, so that this
    /// snapshot stores it again instead of deduplicating against bad bytes.
    private func loadParentTree(_ id: BlobID, at location: BlobLocation? = nil) -> Tree? {
        do {
            if let location, location.id == id, location.kind == .tree {
                return try Tree.decode(try store.read(location, using: decompressor))
            }
            return try Tree.decode(try store.read(id, kind: .tree, using: decompressor))
        } catch let error as RepositoryError where error.code == .corrupt || error.code == .limitExceeded {
            notes.append("the previous snapshot's tree \(id.short) is damaged (\(error.message)); its directory was read again in full and the tree stored anew")
            try? store.index.relocate(moved: [], deleted: [id], removedPacks: [], packSizes: [:])
            return nil
        } catch {
            // A passing failure (I/O, missing pack): read the directory in full, drop nothing.
            notes.append("the previous snapshot's tree \(id.short) could not be read (\(error)); its directory was read again in full")
            return nil
        }
    }

    private func report(_ relative: [UInt8], _ message: String) {
        problems.append(ScanProblem(path: TreeEntry.display(relative.isEmpty ? [UInt8(ascii: ".")] : relative), message: message))
    }

    private func entry(for status: FileStatus, name: [UInt8]) -> TreeEntry {
        var entry = TreeEntry(name: name, kind: status.kind, mode: status.permissions, uid: status.uid, gid: status.gid,
                              mtimeNanoseconds: status.mtimeNanoseconds)
        if status.kind != .directory {
            entry.ctimeNanoseconds = status.ctimeNanoseconds
            entry.inode = status.inode
        }
        return entry
    }

    private func attributes(descriptor: Int32?, relative: [UInt8]) -> [ExtendedAttribute] {
        switch FileSystem.xattrs(descriptor: descriptor, path: FileSystem.join(volumePath, relative)) {
        case .success(let attributes) where attributes.count > Tree.Limits.xattrs:
            report(relative, "\(attributes.count) extended attributes; only the first \(Tree.Limits.xattrs) are stored")
            return Array(attributes.prefix(Tree.Limits.xattrs))
        case .success(let attributes): return attributes
        case .failure(let error):
            report(relative, "extended attributes not read: \(error.text)")
            return []
        }
    }

    /// The walker's record for the directory at `expected`; it comes in the scan's own order.
    private func nextDirectory(expected: [UInt8]) throws -> WalkedDirectory {
        guard let walked = walker?.next(), walked.relative == expected else {
            throw RepositoryError(.io, "the directory walk lost its place at \(TreeEntry.display(expected)); nothing was committed",
                                  hint: "run the snapshot again; report this if it repeats")
        }
        return walked
    }

    private func scanDirectory(_ walked: WalkedDirectory, parent: Tree?, previous: BlobID?) throws -> ChunkPipeline.PendingTree {
        let names: [[UInt8]], statuses: [Result<FileStatus, Errno>]
        switch walked.contents {
        case .listed(let found, let stats): (names, statuses) = (found, stats)
        case .unreadable(let call, let error): throw SourceError(message: "\(call): \(error.text)")
        case .mountPoint: throw SourceError(message: "a mount point") // the caller handles these
        }
        let directory = walked.descriptor, relative = walked.relative
        var entries: [TreeEntry] = []
        var pending: [(index: Int, file: ChunkPipeline.PendingFile)] = []
        var subtrees: [(index: Int, tree: ChunkPipeline.PendingTree)] = []
        let olds = parent.map { Self.match(names, in: $0) } ?? Array(repeating: nil, count: names.count)
        var toRead: [(name: [UInt8], size: UInt64)] = []
        for (index, result) in statuses.enumerated() {
            guard case .success(let status) = result, status.kind == .file, status.size > 0,
                  !isUnchanged(status, since: olds[index]) else { continue }
            toRead.append((names[index], status.size))
        }
        // A first snapshot's prefetch thread reads ahead already; only later ones need this.
        let readAhead = toRead.isEmpty || prefetcher != nil ? nil : ReadAhead(directory: directory, files: toRead)
        // Where the subdirectories' previous trees are: one query for all of them.
        let subtreeIDs = olds.compactMap { $0?.kind == .directory ? $0?.subtree : nil }
        let subtreeLocations = subtreeIDs.isEmpty ? [:] : ((try? store.index.locations(of: subtreeIDs)) ?? [:])
        for (position, (name, result)) in zip(names, statuses).enumerated() {
            // The common case of an incremental snapshot: the file is unchanged,
            // so (ctime included) its entry is the parent's, as it was.
            if case .success(let status) = result, status.kind == .file, status.device == rootDevice,
               let old = olds[position], isUnchanged(status, since: old) {
                var entry = old
                // A materialized file keeps its content and metadata; only where it lives is new.
                entry.ctimeNanoseconds = status.ctimeNanoseconds
                entry.inode = status.inode
                entries.append(entry)
                statistics.files += 1
                statistics.bytesTotal += old.size
                if let progress, throttle.due() { progress(statistics, TreeEntry.display(FileSystem.join(relative, name))) }
                continue
            }
            let path = FileSystem.join(relative, name)
            let status: FileStatus
            switch result {
            case .success(let found): status = found
            case .failure(let error) where error.code == ENOENT: continue // deleted while we walked
            case .failure(let error): report(path, "skipped: \(error.text)"); continue
            }
            var entry = entry(for: status, name: name)
            let old = olds[position]
            switch status.kind {
            case .directory:
                readAhead?.pause()
                defer { readAhead?.resume() }
                guard let subtree = try scanSubdirectory(relative: path, old: old, entry: &entry,
                                                         locations: subtreeLocations) else { continue }
                subtrees.append((entries.count, subtree))
                statistics.directories += 1
            case .file:
                guard let file = try scanFile(directory, name: name, relative: path, status: status, old: old, entry: &entry,
                                              opened: readAhead?.take(name)) else { continue }
                if let file { pending.append((entries.count, file)) }
                statistics.files += 1
                statistics.bytesTotal += entry.size
                if let progress, throttle.due() { progress(statistics, TreeEntry.display(path)) }
            case .symlink:
                switch FileSystem.readLink(at: directory, name) {
                case .success(let target) where !target.isEmpty: entry.symlinkTarget = target
                case .success: report(path, "skipped: empty symlink target"); continue
                case .failure(let error): report(path, "skipped: \(error.text)"); continue
                }
                entry.xattrs = attributes(descriptor: nil, relative: path)
                statistics.otherEntries += 1
            case .fifo, .characterDevice, .blockDevice, .socket:
                if status.kind == .characterDevice || status.kind == .blockDevice { entry.device = status.rdev }
                entry.xattrs = attributes(descriptor: nil, relative: path)
                statistics.otherEntries += 1
            }
            entries.append(entry)
        }
        return try pipeline.buildTree(entries: entries, files: pending, subtrees: subtrees, previous: previous)
    }

    /// Hard-link groups are per file system: an inode number is unique only on its device.
    private func linkGroup(_ status: FileStatus) -> UInt64 {
        let group = status.device == rootDevice ? status.inode : status.inode ^ (status.device &* 0x9E37_79B9_7F4A_7C15)
        return group == 0 ? 1 : group
    }

    /// Returns nil (and reports) when the directory cannot be read.
    private func scanSubdirectory(relative: [UInt8], old: TreeEntry?, entry: inout TreeEntry,
                                  locations: [BlobID: BlobLocation]) throws -> ChunkPipeline.PendingTree? {
        let child = try nextDirectory(expected: relative)
        if case .unreadable(let call, let error) = child.contents, child.descriptor < 0 {
            if error.code != ENOENT { report(relative, "skipped: \(call): \(error.text)") }
            return nil
        }
        entry.xattrs = attributes(descriptor: child.descriptor, relative: relative)
        if case .mountPoint = child.contents {
            report(relative, "mount point: recorded empty (use --cross-mounts to include it)")
            return try pipeline.buildTree(entries: [], files: [], subtrees: [], previous: nil)
        }
        let oldID = old.flatMap { $0.kind == .directory ? $0.subtree : nil }
        let oldTree = oldID.flatMap { loadParentTree($0, at: locations[$0]) }
        do {
            return try scanDirectory(child, parent: oldTree, previous: oldTree == nil ? nil : oldID)
        } catch let error as SourceError {
            report(relative, "skipped: \(error.message)")
            return nil
        }
    }

    /// Fills `entry` for a regular file. Returns `.some(nil)` when the chunks are
    /// already known, `.some(file)` when they arrive with the next flush, nil to skip.
    /// The parent tree's entry for each name: both lists are sorted, so one merge pass.
    private static func match(_ names: [[UInt8]], in tree: Tree) -> [TreeEntry?] {
        var result: [TreeEntry?] = []
        result.reserveCapacity(names.count)
        var cursor = 0
        for name in names {
            while cursor < tree.entries.count && ByteOrder.precedes(tree.entries[cursor].name, name) { cursor += 1 }
            result.append(cursor < tree.entries.count && tree.entries[cursor].name == name ? tree.entries[cursor] : nil)
        }
        return result
    }

    /// The incremental rule: same size, mtime, ctime and inode as in the parent snapshot.
    /// For files barge materialized from the parent (a promoted standby copy), a ctime older
    /// than the materialization stands for the parent's ctime and inode: any later write,
    /// chmod or xattr change moves the ctime past it.
    private func isUnchanged(_ status: FileStatus, since old: TreeEntry?) -> Bool {
        guard let old, old.kind == .file, old.size == status.size, old.mtimeNanoseconds == status.mtimeNanoseconds else { return false }
        if old.ctimeNanoseconds == status.ctimeNanoseconds && old.inode == status.inode { return true }
        guard let before = options.materializedBeforeNanoseconds else { return false }
        return status.ctimeNanoseconds < before
    }

    private func scanFile(_ directory: Int32, name: [UInt8], relative: [UInt8], status: FileStatus,
                          old: TreeEntry?, entry: inout TreeEntry, opened: Int32?) throws -> ChunkPipeline.PendingFile?? {
        var opened = opened
        defer { if let fd = opened { close(fd) } }
        if status.device != rootDevice && !options.crossMounts {
            report(relative, "mount point (a bind-mounted file): not included (use --cross-mounts to include it)")
            return nil
        }
        entry.size = status.size
        entry.sparse = status.allocatedBytes < status.size
        if status.links > 1 { entry.linkGroup = linkGroup(status) }
        if let old, isUnchanged(status, since: old) {
            entry.chunks = old.chunks
            entry.xattrs = old.xattrs
            entry.sparse = old.sparse
            return .some(nil)
        }
        if status.links > 1, let seen = linkGroups[entry.linkGroup], seen.status.sameVersion(as: status) {
            entry.xattrs = seen.xattrs
            return .some(seen.file)
        }
        var descriptor = opened ?? FileSystem.open(at: directory, name, O_RDONLY | O_NOFOLLOW | barge_o_noatime())
        opened = nil
        if descriptor < 0 && errno == EPERM { descriptor = FileSystem.open(at: directory, name, O_RDONLY | O_NOFOLLOW) }
        guard descriptor >= 0 else {
            if errno != ENOENT { report(relative, "skipped: \(String(cString: strerror(errno)))") }
            return nil
        }
        defer { close(descriptor) }
        if let prefetcher, !prefetcher.started, barge_is_cached(descriptor, 0) != 1 { prefetcher.start() }
        _ = posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        entry.xattrs = attributes(descriptor: descriptor, relative: relative)
        let attempts = max(1, options.readAttempts)
        // A large file the agent read before: only its changed ranges are cut and hashed (ChunkFingerprints).
        var known: ChunkFingerprints.Entry?
        var tags: [ChunkFingerprints.Tag]?
        if let (cache, volume) = options.fingerprints, status.size >= ChunkFingerprints.minimumFileSize {
            tags = []
            if let old, old.kind == .file {
                known = cache.entry(volume: volume, path: relative, chunks: old.chunks, parameters: options.chunker)
            }
        }
        for attempt in 1...attempts {
            let before = FileSystem.status(of: descriptor) ?? status
            let file = ChunkPipeline.PendingFile()
            let length: Int
            if tags != nil { tags = [] }
            do { length = try read(descriptor, into: file, relative: relative, known: known, tags: &tags) } catch let error as SourceError {
                report(relative, "skipped: \(error.message)")
                return nil
            }
            let after = FileSystem.status(of: descriptor) ?? before
            let stable = before.sameVersion(as: after) && UInt64(length) == after.size
            if stable || attempt == attempts {
                if !stable { report(relative, "changed while being read (\(attempt) attempts); stored as last read, may be inconsistent") }
                entry.size = UInt64(length)
                entry.mtimeNanoseconds = after.mtimeNanoseconds
                entry.ctimeNanoseconds = after.ctimeNanoseconds
                statistics.filesRead += 1
                if let tags { fingerprinted.append((relative, file, tags)) }
                if status.links > 1 { linkGroups[entry.linkGroup] = (after, file, entry.xattrs) }
                return .some(file)
            }
        }
        return nil
    }

    /// Streams a file through FastCDC into the pipeline; returns its length. With
    /// `known`, a remembered chunk found again with the same bytes skips FastCDC
    /// and SHA-256; `tags` (when not nil) receives every chunk's fingerprint.
    private func read(_ descriptor: Int32, into file: ChunkPipeline.PendingFile, relative: [UInt8],
                      known: ChunkFingerprints.Entry?, tags: inout [ChunkFingerprints.Tag]?) throws -> Int {
        var known = known.map(KnownChunks.init)
        let fingerprints = options.fingerprints?.cache
        let maximum = options.chunker.maximum
        var filled = 0, start = 0, total = 0
        var endOfFile = false
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { throw SourceError(message: "lseek: \(Errno(errno).text)") }
        // Our own readahead, well past the kernel's window: the disk reads the
        // next 32 MiB while this thread cuts and the pipeline hashes and compresses.
        if readBuffer.isEmpty {
            let size = max(4 << 20, 2 * options.chunker.maximum)
            readBuffer = [UInt8](unsafeUninitializedCapacity: size) { _, initialized in initialized = size }
        }
        var prefetched = 0
        let readahead = 32 << 20
        while true {
            if prefetcher == nil, total + filled + readahead / 2 > prefetched {
                _ = posix_fadvise(descriptor, off_t(prefetched), off_t(readahead), Int32(POSIX_FADV_WILLNEED))
                prefetched += readahead
            }
            while !endOfFile && filled < readBuffer.count {
                let got = readBuffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
                if got == 0 { endOfFile = true } else if got > 0 { filled += got } else if errno != EINTR {
                    throw SourceError(message: "read: \(Errno(errno).text)")
                }
            }
            try readBuffer.withUnsafeBytes { raw in
                while filled - start >= maximum || (endOfFile && filled > start) {
                    let window = UnsafeRawBufferPointer(rebasing: raw[start..<filled])
                    if let fingerprints,
                       let (chunk, tag) = known?.reusable(at: total + start, window, fileEnd: endOfFile ? total + filled : nil,
                                                          using: fingerprints) {
                        try pipeline.add(UnsafeRawBufferPointer(rebasing: window[0..<chunk.length]), to: file, known: chunk.id)
                        tags?.append(tag)
                        statistics.chunksFoundAgain += 1
                        start += chunk.length
                        continue
                    }
                    let length = chunker.cutPoint(window)
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[start..<start + length])
                    try pipeline.add(chunk, to: file)
                    if tags != nil {
                        // Without a fingerprint this file is not remembered: it is cut and hashed whole next time.
                        if let tag = fingerprints?.tag(chunk) { tags?.append(tag) } else { tags = nil }
                    }
                    start += length
                }
            }
            total += start
            statistics.bytesRead += UInt64(start)
            prefetcher?.consume(start)
            if endOfFile { return total }
            readBuffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: filled - start)
            }
            filled -= start
            start = 0
        }
    }
}

/// A failure to read the volume (not the store): the entry is skipped and
/// reported, the snapshot goes on. Store failures abort the snapshot instead.
struct SourceError: Error {
    let message: String
}
