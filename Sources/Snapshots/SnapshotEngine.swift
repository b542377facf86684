import Chunking
import Foundation
import Repository
import Retention

/// Which snapshot of a volume an operation means.
public enum SnapshotSelector: Sendable, Equatable {
    case latest
    /// Full hex id or a unique prefix of at least 4 digits.
    case id(String)
    /// The newest snapshot taken at or before this time.
    case at(Date)
}

public struct SnapshotOutcome: Sendable {
    public let id: BlobID
    public let record: SnapshotRecord
    public let statistics: ScanStatistics
    public let problems: [ScanProblem]
    public let notes: [String]
    public let bytesAdded: Int
    public let chunkBytesStored: Int
    public let treeBytesStored: Int
    public let seconds: Double
    /// The volume was unchanged and the outcome names its newest snapshot (no new one).
    public var reused = false
}

public struct RestoreOutcome: Sendable {
    public let snapshot: StoredSnapshot
    public let target: String
    public let result: RestoreResult
    /// For in-place restores: the snapshot of what was there before.
    public let safetySnapshot: BlobID?
    public let seconds: Double

    public init(snapshot: StoredSnapshot, target: String, result: RestoreResult, safetySnapshot: BlobID?, seconds: Double) {
        self.snapshot = snapshot
        self.target = target
        self.result = result
        self.safetySnapshot = safetySnapshot
        self.seconds = seconds
    }
}

/// The node's operations on named volumes over one state directory:
/// snapshot, restore, diff, verify, forget and gc.
public final class SnapshotEngine {
    public let stateDirectory: String
    public let nodeName: String

    public init(stateDirectory: String, nodeName: String = SnapshotEngine.hostName()) {
        self.stateDirectory = stateDirectory
        self.nodeName = nodeName
    }

    public static func hostName() -> String { ProcessInfo.processInfo.hostName }

    public func volume(_ name: String, in store: Store) throws -> VolumeRecord {
        guard let volume = try store.index.volume(named: name) else {
            let known = (try? store.index.volumes().map(\.name)) ?? []
            throw RepositoryError(.notFound, "no volume named \(name)",
                                  hint: known.isEmpty ? "add one with `barge volume add \(name) PATH`" : "known volumes: \(known.joined(separator: ", "))")
        }
        return volume
    }

    // MARK: snapshot

    /// `rehash` reads every file instead of trusting the parent snapshot: after
    /// `verify --repair` dropped damaged chunks, it stores them again.
    /// `time`: the time to record instead of now (imports, simulations).
    public func snapshot(volume name: String, rehash: Bool = false, time: Int64? = nil,
                         progress: ((ScanStatistics, String) -> Void)? = nil) throws -> SnapshotOutcome {
        let store = try Store(at: stateDirectory, access: .write)
        let epoch = try store.index.ownership(of: name)?.epoch ?? 0
        return try snapshot(volume: try volume(name, in: store), store: store, state: "complete", epoch: epoch, rehash: rehash,
                            time: time, progress: progress)
    }

    /// A snapshot through a store the caller holds open for writing (the agent's).
    /// With `reuseUnchanged`, a volume identical to its newest snapshot (same trees, same root
    /// metadata, same epoch, nothing skipped) gets no new snapshot: the outcome names the old one.
    /// `materialized`: barge wrote the volume's files from that snapshot before that time (a
    /// promoted standby copy); it is the parent, and see `ScanOptions.materializedBeforeNanoseconds`.
    /// `fingerprints`: the agent's memory of large files' chunks (ChunkFingerprints).
    public func snapshot(volume name: String, in store: Store, epoch: UInt64, state: String = "complete", reuseUnchanged: Bool = false,
                         materialized: (snapshot: BlobID, before: Int64)? = nil, fingerprints: ChunkFingerprints? = nil,
                         progress: ((ScanStatistics, String) -> Void)? = nil) throws -> SnapshotOutcome {
        try snapshot(volume: try volume(name, in: store), store: store, state: state, epoch: epoch, reuseUnchanged: reuseUnchanged,
                     materialized: materialized, fingerprints: fingerprints, progress: progress)
    }

    func snapshot(volume: VolumeRecord, store: Store, state: String, epoch: UInt64 = 0, rehash: Bool = false, reuseUnchanged: Bool = false,
                  materialized: (snapshot: BlobID, before: Int64)? = nil, fingerprints: ChunkFingerprints? = nil, time: Int64? = nil,
                  progress: ((ScanStatistics, String) -> Void)?) throws -> SnapshotOutcome {
        let started = Date()
        let materializedParent = try materialized.flatMap { try store.index.snapshot($0.snapshot) }
        let parent = try materializedParent ?? store.snapshots(volume: volume.name).last
        let writer = BlobWriter(store: store)
        var options = ScanOptions(chunker: try ChunkerParameters(average: volume.chunkAverage), crossMounts: volume.crossMounts)
        options.materializedBeforeNanoseconds = materializedParent == nil ? nil : materialized?.before
        options.fingerprints = fingerprints.map { ($0, volume.name) }
        let scanner = Scanner(store: store, writer: writer, options: options, progress: progress)
        let result = try scanner.scan(path: volume.path, parent: rehash ? nil : parent?.record.root)
        let stats = result.statistics
        if reuseUnchanged, let parent, parent.record.state == state, parent.record.epoch == epoch, parent.record.root == result.root,
           parent.record.rootMetadata == result.rootMetadata, result.problems.isEmpty {
            return SnapshotOutcome(id: parent.id, record: parent.record, statistics: stats, problems: [], notes: result.notes,
                                   bytesAdded: 0, chunkBytesStored: 0, treeBytesStored: 0, seconds: Date().timeIntervalSince(started), reused: true)
        }
        let record = SnapshotRecord(
            volume: volume.name, volumePath: volume.path, chunkAverage: volume.chunkAverage, crossMounts: volume.crossMounts, parent: parent?.id,
            root: result.root, rootMetadata: result.rootMetadata, timeNanoseconds: time ?? Clock.nowNanoseconds(), epoch: epoch,
            origin: nodeName, state: state, files: UInt64(stats.files), directories: UInt64(stats.directories),
            bytesTotal: stats.bytesTotal, bytesAdded: UInt64(writer.bytesWritten), skipped: UInt64(result.problems.count))
        let id = try writer.commit(record, compressor: Compressor(codec: store.compression))
        return SnapshotOutcome(id: id, record: record, statistics: stats, problems: result.problems, notes: result.notes,
                               bytesAdded: writer.bytesWritten, chunkBytesStored: writer.bytesWrittenByKind[.chunk] ?? 0,
                               treeBytesStored: writer.bytesWrittenByKind[.tree] ?? 0, seconds: Date().timeIntervalSince(started))
    }


    // MARK: finding snapshots

    public func resolve(volume: String, _ selector: SnapshotSelector, in store: Store) throws -> StoredSnapshot {
        try Self.choose(selector, among: try store.snapshots(volume: volume), volume: volume)
    }

    /// The snapshot a selector names among a volume's snapshots (oldest first):
    /// this store's, or a peer's list.
    public static func choose(_ selector: SnapshotSelector, among snapshots: [StoredSnapshot], volume: String) throws -> StoredSnapshot {
        guard !snapshots.isEmpty else {
            throw RepositoryError(.notFound, "volume \(volume) has no snapshots", hint: "take one with `barge snapshot \(volume)`")
        }
        switch selector {
        case .latest:
            // Safety copies (pre-restore) and diverged states are never "latest" unless alone.
            return snapshots.last { $0.record.state == "complete" } ?? snapshots.last!
        case .id(let prefix):
            let lower = prefix.lowercased()
            guard lower.count >= 4, lower.allSatisfy(\.isHexDigit) else {
                throw RepositoryError(.invalidArgument, "snapshot id \"\(prefix)\" is not at least 4 hex digits")
            }
            let matches = snapshots.filter { $0.id.hex.hasPrefix(lower) }
            guard matches.count == 1 else {
                throw RepositoryError(matches.isEmpty ? .notFound : .invalidArgument,
                                      matches.isEmpty ? "no snapshot of \(volume) has an id starting \(lower)"
                                                      : "\(matches.count) snapshots of \(volume) have ids starting \(lower)",
                                      hint: "list them with `barge snapshots \(volume)`")
            }
            return matches[0]
        case .at(let date):
            // Int64 nanoseconds span 1677..2262: clamp rather than trap on dates outside.
            let scaled = date.timeIntervalSince1970 * 1_000_000_000
            let limit = scaled >= Double(Int64.max) ? Int64.max : scaled <= Double(Int64.min) ? Int64.min : Int64(scaled)
            guard let found = snapshots.last(where: { $0.record.timeNanoseconds <= limit }) else {
                throw RepositoryError(.notFound, "volume \(volume) has no snapshot at or before \(date)",
                                      hint: "the oldest is from \(Date(timeIntervalSince1970: Double(snapshots[0].record.timeNanoseconds) / 1e9))")
            }
            return found
        }
    }

    // MARK: restore

    public func restore(volume name: String, _ selector: SnapshotSelector, subpath: String?, target: String,
                        options: RestoreOptions = RestoreOptions(),
                        progress: ((RestoreStatistics, String) -> Void)? = nil) throws -> RestoreOutcome {
        let started = Date()
        let store = try Store(at: stateDirectory, access: .read)
        let snapshot = try resolve(volume: name, selector, in: store)
        let result = try Restorer(store: store, options: options, progress: progress).restore(snapshot, subpath: subpath, to: target)
        return RestoreOutcome(snapshot: snapshot, target: Paths.absolute(target), result: result, safetySnapshot: nil,
                              seconds: Date().timeIntervalSince(started))
    }

    /// Replaces the live volume (or one path in it) with the snapshot's version.
    /// The current state is snapshotted first, and the restore refuses to go on
    /// if that snapshot skipped anything, so nothing is lost. The copy is staged
    /// in the same directory as what it replaces, made durable, then swapped in
    /// with one atomic rename; the old data is removed last.
    ///
    /// Whoever writes the volume may have planted symlinks: the path is walked
    /// with O_NOFOLLOW and every later step is relative to that directory.
    public func restoreInPlace(volume name: String, _ selector: SnapshotSelector, subpath: String?,
                               progress: ((RestoreStatistics, String) -> Void)? = nil) throws -> RestoreOutcome {
        let store = try Store(at: stateDirectory, access: .write)
        let epoch = try store.index.ownership(of: name)?.epoch ?? 0
        return try restoreInPlace(volume: name, selector, subpath: subpath, in: store, epoch: epoch, progress: progress)
    }

    /// The same through a store the caller holds open for writing (the agent's,
    /// which has stopped the volume's container); the pre-restore snapshot is at `epoch`.
    public func restoreInPlace(volume name: String, _ selector: SnapshotSelector, subpath: String?, in store: Store, epoch: UInt64,
                               progress: ((RestoreStatistics, String) -> Void)? = nil) throws -> RestoreOutcome {
        let started = Date()
        let volume = try volume(name, in: store)
        let snapshot = try resolve(volume: name, selector, in: store)
        let components = (subpath ?? "").split(separator: "/").map(String.init)
        for component in components { try Tree.validate(name: Array(component.utf8)) }
        let isDirectory = try Restorer.isDirectory(snapshot, subpath: subpath, store: store)

        let parent: Int32, entryName: String
        if let last = components.last {
            parent = try Paths.openDirectory(volume.path, below: components.dropLast())
            entryName = last
        } else {
            parent = try Paths.openDirectory(Paths.parent(volume.path), below: [])
            entryName = (volume.path as NSString).lastPathComponent
            try Paths.refuseMountPoint(volume.path, parent: parent)
        }
        defer { close(parent) }
        let live = components.isEmpty ? volume.path : volume.path + "/" + components.joined(separator: "/")

        let safety = try self.snapshot(volume: volume, store: store, state: "pre-restore", epoch: epoch, progress: nil)
        guard safety.problems.isEmpty else {
            let listed = safety.problems.prefix(5).map { "\($0.path): \($0.message)" }.joined(separator: "; ")
            throw RepositoryError(.io, "the current state of \(name) could not be saved completely (\(safety.problems.count) problems: \(listed)); the live volume was not changed",
                                  hint: "fix those entries and retry, or restore into a new directory with --target (the partial pre-restore snapshot \(safety.id.short) was kept)")
        }

        let staging = try Paths.makeStaging(in: parent, purpose: "in-place")
        let stagingFD = FileSystem.open(at: parent, Array(staging.utf8), O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        guard stagingFD >= 0 else {
            Paths.removeEntry(in: parent, name: staging)
            throw RepositoryError.system("open", path: live + " staging")
        }
        let restorer = Restorer(store: store, progress: progress)
        do {
            try restorer.restore(snapshot, subpath: subpath, intoEmptyDirectory: stagingFD)
            // A restored directory is the staging directory itself; anything else sits inside it.
            var info = stat()
            guard isDirectory || fstatat(stagingFD, entryName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                let why = restorer.lastResult.warnings.map { $0.message }.joined(separator: "; ")
                throw RepositoryError(.invalidArgument, "\(subpath ?? "") could not be recreated (\(why)); the live volume was not changed",
                                      hint: "the pre-restore snapshot \(safety.id.short) was kept")
            }
            if isDirectory {
                try Paths.replace(entryName, in: parent, with: staging, from: parent, path: live)
            } else {
                try Paths.replace(entryName, in: parent, with: entryName, from: stagingFD, path: live)
            }
        } catch {
            close(stagingFD)
            Paths.removeEntry(in: parent, name: staging)
            throw error
        }
        close(stagingFD)
        var warnings = restorer.lastResult.warnings
        // The staging entry now holds the old data, which the safety snapshot keeps.
        if !Paths.removeEntry(in: parent, name: staging) {
            warnings.append(ScanProblem(path: staging, message: "the replaced data could not be removed completely (a mount point, or permissions); remove it by hand"))
        }
        return RestoreOutcome(snapshot: snapshot, target: live,
                              result: RestoreResult(statistics: restorer.lastResult.statistics, warnings: warnings),
                              safetySnapshot: safety.id, seconds: Date().timeIntervalSince(started))
    }

    // MARK: diff and verify

    public func diff(volume: String, from: SnapshotSelector?, to: SnapshotSelector?) throws -> (StoredSnapshot, StoredSnapshot, DiffResult) {
        let store = try Store(at: stateDirectory, access: .read)
        let snapshots = try store.snapshots(volume: volume)
        // By default the two newest complete snapshots, like `latest`.
        let complete = snapshots.filter { $0.record.state == "complete" }
        let new = try to.map { try resolve(volume: volume, $0, in: store) } ?? complete.last
        let old = try from.map { try resolve(volume: volume, $0, in: store) }
            ?? complete.last { $0.record.timeNanoseconds < (new?.record.timeNanoseconds ?? .max) && $0.id != new?.id }
        guard let old, let new else {
            throw RepositoryError(.notFound, "volume \(volume) needs two snapshots to compare", hint: "take another with `barge snapshot \(volume)`")
        }
        return (old, new, try Differ(store: store).diff(from: old, to: new))
    }

    /// Removes snapshots from the index: `ids` as named, plus what `policy`
    /// does not keep (SnapshotForgetter). Space returns with `gc`.
    public func forget(volume: String, ids: [SnapshotSelector], policy: RetentionPolicy?, dryRun: Bool = false) throws -> ForgetOutcome {
        let store = try Store(at: stateDirectory, access: dryRun ? .read : .write)
        return try forget(volume: volume, ids: ids, policy: policy, dryRun: dryRun, in: store)
    }

    public func forget(volume: String, ids: [SnapshotSelector], policy: RetentionPolicy?, dryRun: Bool, in store: Store) throws -> ForgetOutcome {
        let named = try ids.map { try resolve(volume: volume, $0, in: store) }
        return try SnapshotForgetter(store: store).forget(volume: volume, named: named, policy: policy, dryRun: dryRun)
    }

    public func collectGarbage(progress: ((Int, Int) -> Void)? = nil) throws -> CollectionReport {
        let store = try Store(at: stateDirectory, access: .exclusive)
        let collector = GarbageCollector(store: store)
        collector.progress = progress
        return try collector.run()
    }

    /// With `repair`, damaged blobs are dropped from the index afterwards, so
    /// the next `snapshot --rehash` stores them again from the live data.
    public func verify(readData: Bool, repair: Bool = false, progress: ((Int) -> Void)? = nil) throws -> VerifyReport {
        let store = try Store(at: stateDirectory, access: repair ? .write : .read)
        var report = try Verifier(store: store, readData: readData, progress: progress).run()
        if repair {
            let ids = report.damaged.compactMap { BlobID(hex: $0.blob) }
            report.dropped = try store.index.locations(of: ids).count
            try store.index.relocate(moved: [], deleted: ids, removedPacks: [], packSizes: [:])
        }
        return report
    }
}
