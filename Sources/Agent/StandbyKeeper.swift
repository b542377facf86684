import Foundation
import Repository
import Snapshots

/// Brings each volume's standby copy up to its newest snapshot, one update at
/// a time per volume; a snapshot that arrives meanwhile triggers one more pass.
/// A failed pass (a full disk, say) is tried again by itself, backing off.
actor StandbyKeeper {
    private var running: Set<String> = []
    private var again: Set<String> = []
    /// Volumes whose last pass failed: how often in a row, and when to try again.
    private var retries: [String: (failures: Int, due: ContinuousClock.Instant)] = [:]
    static let firstRetry = Duration.seconds(5)
    static let longestRetry = Duration.seconds(300)

    func schedule(_ volume: String, core: AgentCore) {
        guard running.insert(volume).inserted else {
            again.insert(volume)
            return
        }
        Task {
            repeat {
                self.clearAgain(volume)
                await core.updateStandby(volume)
                core.clusterNudge()
            } while self.takeAgain(volume)
            self.finish(volume)
        }
    }

    /// Records a failed pass; returns when the next one starts.
    func failed(_ volume: String) -> Duration {
        let failures = (retries[volume]?.failures ?? 0) + 1
        let delay = min(Self.longestRetry, Self.firstRetry * (1 << min(failures - 1, 16)))
        retries[volume] = (failures, .now + delay)
        return delay
    }

    /// The pass succeeded, or there is nothing to keep any more.
    func settled(_ volume: String) { retries.removeValue(forKey: volume) }

    /// Volumes whose retry is due (Housekeeper schedules them). Each is taken
    /// once: the pass it starts sets the next time, or clears it.
    func dueRetries() -> [String] {
        let now = ContinuousClock.now
        let due = retries.filter { $0.value.due <= now }.map(\.key).sorted()
        for volume in due { retries[volume]?.due = now + Self.longestRetry }
        return due
    }

    private func clearAgain(_ volume: String) { again.remove(volume) }
    private func takeAgain(_ volume: String) -> Bool { again.remove(volume) != nil }
    private func finish(_ volume: String) { running.remove(volume) }
}

extension AgentCore {
    /// One standby pass. The index says `updating` while files change, so an
    /// update cut short (crash, SIGTERM) is redone from scratch next time.
    func updateStandby(_ volume: String) async {
        _ = try? await locks.withLock(volume) { await updateStandbyLocked(volume) }
    }

    /// The caller holds the volume's lock. Returns whether the copy is complete afterwards.
    @discardableResult
    func updateStandbyLocked(_ volume: String) async -> Bool {
        // A copy built while its snapshot arrived: installed below if it is still the one to have.
        var early: (snapshot: BlobID, staging: String, statistics: StandbyStatistics, started: Date)?
        if let build = earlyStandby.take(volume) {
            do {
                let (staging, statistics) = try await build.result.value
                early = (build.snapshot, staging, statistics, build.started)
            } catch {
                logger.info("the standby copy built during the transfer was not finished; building it from the store",
                            metadata: ["volume": "\(volume)", "cause": "\(error)"])
            }
        }
        guard let settings = config.volume(named: volume), (try? ownership(volume))?.owner != node else {
            if let early { StandbySync.discard(early.staging) }
            await standby.settled(volume)
            return false
        }
        let path = Self.standbyPath(for: settings)
        let store = self.store
        let built = early
        do {
            let result = try await Blocking.run { () -> (BlobID, StandbyStatistics, Double)? in
                let early = built
                var unused = early?.staging
                defer { if let unused { StandbySync.discard(unused) } }
                guard let target = try store.snapshots(volume: volume).last(where: { $0.record.state == "complete" }) else { return nil }
                let state = try store.index.standby(of: volume)
                if let early, early.snapshot == target.id, state?.updating == target.id, state?.path == path {
                    unused = nil
                    try StandbySync.install(early.staging, at: path)
                    try store.index.setStandby(volume: volume, path: path, snapshot: target.id, updating: nil)
                    // From the transfer's start: the copy was written beside it.
                    return (target.id, early.statistics, Date().timeIntervalSince(early.started))
                }
                if state?.snapshot == target.id, state?.updating == nil, state?.path == path { return nil }
                let current = state?.updating == nil && state?.path == path ? try state?.snapshot.flatMap { try store.index.snapshot($0) } : nil
                let started = Date()
                try Self.prepareStandbyParent(path)
                try store.index.setStandby(volume: volume, path: path, snapshot: state?.snapshot, updating: target.id)
                let statistics = try StandbySync(store: store).update(directory: path, from: current, to: target)
                try store.index.setStandby(volume: volume, path: path, snapshot: target.id, updating: nil)
                return (target.id, statistics, Date().timeIntervalSince(started))
            }
            await standby.settled(volume)
            guard let (snapshot, statistics, seconds) = result else { return true }
            noteError(volume, nil)
            metrics.standbyUpdated(volume: volume, seconds: seconds)
            logger.info("standby updated", metadata: [
                "volume": "\(volume)", "snapshot": "\(snapshot.short)", "path": "\(path)", "seconds": "\(seconds)",
                "rebuilt": "\(statistics.rebuilt)", "replaced": "\(statistics.entriesReplaced)", "removed": "\(statistics.entriesRemoved)",
                "patched": "\(statistics.filesPatched)", "in_place": "\(statistics.filesPatchedInPlace)", "bytes_from_store": "\(statistics.bytesWritten)",
            ])
            return true
        } catch {
            metrics.error("standby")
            let delay = await standby.failed(volume)
            logger.error("standby update of \(volume) failed: \(error); trying again in \(delay)")
            noteError(volume, "standby update failed: \(error); trying again in \(delay)")
            return false
        }
    }

    /// `.barge-standby` is mode 0700: the copy is for promotion, not for use.
    static func prepareStandbyParent(_ path: String) throws {
        let parent = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: (parent as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if mkdir(parent, 0o700) != 0 && errno != EEXIST {
            throw RepositoryError.system("mkdir", path: parent, hint: "the standby copy lives beside the volume's path; check that its parent is writable")
        }
        chmod(parent, 0o700)
    }
}
