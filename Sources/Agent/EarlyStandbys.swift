import Foundation
import Repository
import Snapshots
import Synchronization

/// A replica's standby copies built from scratch while their snapshot is
/// received, from the blobs as they are committed, instead of after the
/// commit: the first copy is ready soon after the transfer, not a whole
/// restore later. Updates of an existing copy still follow the commit (they
/// change only what differs). The keeper installs a finished build under the
/// volume's lock, or discards it.
final class EarlyStandbys: Sendable {
    struct Build: Sendable {
        let snapshot: BlobID
        let started = Date()
        /// The staging directory holding the complete, synced copy.
        let result: Task<(staging: String, statistics: StandbyStatistics), any Error>
    }

    private let builds = Mutex<[String: Build]>([:])

    func start(_ volume: String, snapshot: BlobID,
               work: @escaping @Sendable () throws -> (staging: String, statistics: StandbyStatistics)) {
        let result = Task { try await Blocking.run(work) }
        let replaced = builds.withLock { $0.updateValue(Build(snapshot: snapshot, result: result), forKey: volume) }
        if let replaced { Task { await Self.discard(replaced) } }
    }

    func take(_ volume: String) -> Build? { builds.withLock { $0.removeValue(forKey: volume) } }

    /// Waits for a build nobody will install and removes its copy.
    static func discard(_ build: Build) async {
        if let (staging, _) = try? await build.result.value { StandbySync.discard(staging) }
    }
}

extension AgentCore {
    /// The receiver's `onTransfer` on a replica (the volume's lock held): when
    /// the standby copy must be built from scratch, it is built now, beside
    /// the transfer. The copy is marked `updating` first, as any update.
    func beginEarlyStandby(_ target: StoredSnapshot, arrivals: BlobArrivals) {
        let volume = target.record.volume
        guard let settings = config.volume(named: volume), (try? ownership(volume))?.owner != node else { return }
        let path = Self.standbyPath(for: settings)
        let store = self.store
        do {
            let state = try store.index.standby(of: volume)
            var current: StoredSnapshot?
            if state?.updating == nil, state?.path == path, let id = state?.snapshot { current = try store.index.snapshot(id) }
            var info = stat()
            let isDirectory = lstat(path, &info) == 0 && info.st_mode & 0o170000 == 0o040000
            // An existing copy is updated after the commit, by what changed (the same test as StandbySync.update).
            guard current == nil || !isDirectory else { return }
            try Self.prepareStandbyParent(path)
            try store.index.setStandby(volume: volume, path: path, snapshot: state?.snapshot, updating: target.id)
        } catch {
            logger.warning("the standby copy will be built after the transfer: \(error)", metadata: ["volume": "\(volume)"])
            return
        }
        arrivals.handOverChunks()
        let logger = self.logger
        earlyStandby.start(volume, snapshot: target.id) {
            let sync = StandbySync(store: store)
            let staging = try sync.buildStaging(beside: path, target, arrivals: arrivals)
            logger.info("standby copy written during the transfer", metadata: [
                "volume": "\(volume)", "chunks_from_the_receiver": "\(arrivals.chunksHandedOver)"])
            return (staging, sync.lastStatistics)
        }
    }
}
