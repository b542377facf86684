import Foundation
import Repository

public struct RollbackOutcome: Sendable {
    public let snapshot: StoredSnapshot
    public let target: String
    public let statistics: StandbyStatistics
    /// The snapshot of what was there before.
    public let preRestore: BlobID
    /// The volume as it is now: the target's tree, recorded without reading the files again.
    public let result: BlobID
    /// When barge finished writing the volume (see `ScanOptions.materializedBeforeNanoseconds`).
    public let materializedAt: Int64
    public let seconds: Double
}

extension SnapshotEngine {
    /// Rolls a whole live volume back (or forward) to a snapshot by changing
    /// only what differs, as a standby copy is updated: the volume is first
    /// snapshotted (`pre-restore`), so it equals that snapshot exactly, and the
    /// difference between the two trees is applied (changed entries staged and
    /// renamed in, a large file whose pages changed patched where it lies).
    /// The caller has stopped whatever writes the volume. A mark in the index
    /// covers the pass: a pass cut short (kill -9, power, disk full) leaves the
    /// mark, and the agent refuses to start the volume's container until a
    /// roll-back has run to the end; running it again is sound, because its
    /// pre-restore snapshot captures the half-changed volume as it is. The
    /// result is recorded as a snapshot of the target's tree, as a promoted
    /// standby copy is: reading the files back would cost as much as the roll-back.
    /// `materialized`: barge wrote the volume from that snapshot before that time (an earlier
    /// roll-back, a promotion), so the pre-restore snapshot need not read those files again.
    public func rollBack(volume name: String, _ selector: SnapshotSelector, in store: Store, epoch: UInt64,
                         materialized: (snapshot: BlobID, before: Int64)? = nil) throws -> RollbackOutcome {
        let started = Date()
        let volume = try volume(name, in: store)
        let target = try resolve(volume: name, selector, in: store)
        let safety = try snapshot(volume: volume, store: store, state: "pre-restore", epoch: epoch, materialized: materialized, progress: nil)
        guard safety.problems.isEmpty else {
            let listed = safety.problems.prefix(5).map { "\($0.path): \($0.message)" }.joined(separator: "; ")
            throw RepositoryError(.io, "the current state of \(name) could not be saved completely (\(safety.problems.count) problems: \(listed)); the live volume was not changed",
                                  hint: "fix those entries and retry, or restore into a new directory with --target (the partial pre-restore snapshot \(safety.id.short) was kept)")
        }
        try store.index.setRollbackMark(RollbackMark(volume: name, target: target.id, preRestore: safety.id,
                                                     startedNanoseconds: Clock.nowNanoseconds()))
        let statistics: StandbyStatistics
        do {
            statistics = try StandbySync(store: store).update(directory: volume.path, from: StoredSnapshot(id: safety.id, record: safety.record),
                                                              to: target)
        } catch let error as RepositoryError {
            throw RepositoryError(error.code, "the roll-back of \(name) to \(target.id.short) stopped half way: \(error.message)",
                                  hint: "the volume may be partly rolled back and its container stays stopped: fix the cause and run the same "
                                      + "restore again, or restore \(safety.id.short) (pre-restore) in place to undo", underlying: error)
        }
        // The volume now equals the target's tree (synced): recorded as the newest snapshot without
        // reading a file again; the next snapshot trusts files whose ctime is older than this.
        let materializedAt = Clock.nowNanoseconds()
        let record = SnapshotRecord(
            volume: volume.name, volumePath: volume.path, chunkAverage: volume.chunkAverage, crossMounts: volume.crossMounts,
            parent: safety.id, root: target.record.root, rootMetadata: target.record.rootMetadata, timeNanoseconds: materializedAt,
            epoch: epoch, origin: nodeName, state: "complete", files: target.record.files, directories: target.record.directories,
            bytesTotal: target.record.bytesTotal, bytesAdded: 0, skipped: 0)
        let result = try BlobWriter(store: store).commit(record, compressor: Compressor(codec: store.compression))
        try store.index.clearRollbackMark(of: name)
        return RollbackOutcome(snapshot: target, target: volume.path, statistics: statistics, preRestore: safety.id, result: result,
                               materializedAt: materializedAt, seconds: Date().timeIntervalSince(started))
    }
}
