import AgentConfig
import CLinux
import Foundation
import Ownership
import Repository
import Snapshots

/// Where a volume's data lives on this node: at its path on the owner, in the
/// root-only standby place on a replica. Moves between the two are renames on
/// one file system, so promotion does not grow with the volume's size.
extension AgentCore {
    /// Moves the complete standby copy to the volume's path. Returns the
    /// snapshot the promoted data equals.
    func promote(_ volume: VolumeSettings) throws -> BlobID {
        let snapshot = try checkPromotable(volume)
        let standbyPath = Self.standbyPath(for: volume)
        try Self.clearForPromotion(volume.path)
        let promotion = Clock.nowNanoseconds()
        try FileManager.default.createDirectory(atPath: (volume.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard rename(standbyPath, volume.path) == 0 else {
            throw MoveError("cannot move the standby copy \(standbyPath) to \(volume.path): \(String(cString: strerror(errno)))",
                            hint: "both must be on one file system, beside each other")
        }
        Self.syncDirectories(of: [volume.path, standbyPath])
        try store.index.setStandby(volume: volume.name, path: standbyPath, snapshot: nil, updating: nil)
        promotedAt.withLock { $0[volume.name] = (snapshot, promotion) }
        logger.notice("standby promoted", metadata: ["volume": "\(volume.name)", "path": "\(volume.path)", "snapshot": "\(snapshot.short)"])
        return snapshot
    }

    /// Whether a promotion can happen now, checked before any ownership is
    /// recorded: a complete standby copy, and nothing at the volume's path.
    /// Returns the snapshot the copy equals.
    @discardableResult
    func checkPromotable(_ volume: VolumeSettings) throws -> BlobID {
        let standbyPath = Self.standbyPath(for: volume)
        guard let state = try store.index.standby(of: volume.name), state.path == standbyPath,
              let snapshot = state.snapshot, state.updating == nil, FileManager.default.fileExists(atPath: standbyPath) else {
            throw MoveError("\(node) has no complete standby copy of \(volume.name) to promote",
                            hint: "one is built from the newest snapshot here after the next replication, or at the agent's next start")
        }
        var info = stat()
        if lstat(volume.path, &info) == 0 {
            let isEmptyDirectory = info.st_mode & 0o170000 == 0o040000 && ((try? FileManager.default.contentsOfDirectory(atPath: volume.path))?.isEmpty ?? false)
            guard isEmptyDirectory else {
                throw MoveError("\(volume.path) already holds data on \(node); refusing to hide it under the promoted copy",
                                hint: "move it away (restore what you need from it first), then retry; nothing was changed")
            }
        }
        return snapshot
    }

    /// Moves the live directory to the standby place, where it stands for `snapshot`.
    func demote(_ volume: VolumeSettings, as snapshot: BlobID) throws {
        let standbyPath = Self.standbyPath(for: volume)
        guard FileManager.default.fileExists(atPath: volume.path) else { return }
        try Self.prepareStandbyParent(standbyPath)
        if FileManager.default.fileExists(atPath: standbyPath) {
            // An older copy: the live data is newer.
            try FileManager.default.removeItem(atPath: standbyPath)
        }
        try store.index.setStandby(volume: volume.name, path: standbyPath, snapshot: nil, updating: snapshot)
        guard rename(volume.path, standbyPath) == 0 else {
            throw MoveError("cannot move \(volume.path) to the standby place \(standbyPath): \(String(cString: strerror(errno)))")
        }
        Self.syncDirectories(of: [volume.path, standbyPath])
        try store.index.setStandby(volume: volume.name, path: standbyPath, snapshot: snapshot, updating: nil)
        logger.notice("live data moved to the standby place", metadata: ["volume": "\(volume.name)", "snapshot": "\(snapshot.short)"])
    }

    /// This node learned that another owns the volume at a higher epoch: if it
    /// thought it owned it, it fences (VolumeOwnership.learn): record, stop the
    /// container, keep the local state as a `diverged` snapshot (listed,
    /// restorable, never pruned automatically), and become a replica.
    func fence(_ volume: VolumeSettings, owner: String, epoch: UInt64) async throws {
        let before = try ownershipState(volume)
        if before.ownedHere && epoch > before.record.epoch {
            logger.warning("fenced: another node owns the volume at a higher epoch", metadata: [
                "volume": "\(volume.name)", "owner": "\(owner)", "epoch": "\(epoch)", "our_epoch": "\(before.record.epoch)"])
        }
        try await decide(volume) { $0.learn(OwnerRecord(owner: owner, epoch: epoch)) }
    }

    /// Removes the empty directory at the volume's path (checkPromotable allowed only that).
    private static func clearForPromotion(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard rmdir(path) == 0 else {
            throw MoveError("\(path) already holds data on this node; refusing to hide it under the promoted copy",
                            hint: "move it away (or restore what you need from it first), then retry")
        }
    }

    private static func syncDirectories(of paths: [String]) {
        for path in Set(paths.map { ($0 as NSString).deletingLastPathComponent }) {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 { fsync(fd); close(fd) }
        }
    }
}

/// A move that cannot go on, with what to do about it.
struct MoveError: Error, CustomStringConvertible {
    let message: String
    let hint: String?
    init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
    var description: String { hint.map { "\(message) (hint: \($0))" } ?? message }
}
