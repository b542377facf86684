import AgentConfig
import Control
import Foundation
import Offsite
import Repository
import ServiceLifecycle

/// On each volume's owner: uploads the newest snapshot to every `[[offsite]]` target that
/// lists the volume, at most once per the target's `interval` (0: after every snapshot),
/// then applies the target's `[offsite.retention]` and, when that forgot anything, gc on
/// the target. A failure is logged, shown in status and retried with backoff (30 s
/// doubling to the interval, at most 1 h); nothing is ever deleted locally for it.
struct OffsiteKeeper: Service {
    let core: AgentCore

    func run() async throws {
        try await runUntilShutdown { [core] in
            var lastTry: [String: Date] = [:]
            var backoff: [String: Double] = [:]
            var uploaded: [String: BlobID] = [:]
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                for target in core.config.offsite {
                    for volume in target.volumes {
                        if Task.isCancelled { return }
                        let key = target.name + "/" + volume
                        // The time gate first: the index is asked only when an upload may be due.
                        if let last = lastTry[key], Date().timeIntervalSince(last) < backoff[key] ?? target.intervalSeconds { continue }
                        guard (try? core.ownership(volume))?.owner == core.node,
                              let latest = try? core.store.snapshots(volume: volume).last(where: { $0.record.state == "complete" }),
                              uploaded[key] != latest.id else { continue }
                        lastTry[key] = Date()
                        if await Self.upload(core, target, volume, latest) {
                            uploaded[key] = latest.id
                            backoff[key] = nil
                        } else {
                            backoff[key] = min(max(30, 2 * (backoff[key] ?? 15)), max(30, min(target.intervalSeconds, 3600)))
                        }
                    }
                }
            }
        }
    }

    /// One upload and the retention after it; false when anything failed.
    static func upload(_ core: AgentCore, _ settings: OffsiteSettings, _ volume: String, _ snapshot: StoredSnapshot) async -> Bool {
        func update(_ change: (inout OffsiteStatus) -> Void) {
            core.offsite.withLock { all in
                var status = all[volume]?[settings.name] ?? OffsiteStatus(target: settings.name)
                change(&status)
                all[volume, default: [:]][settings.name] = status
            }
        }
        update { $0.uploading = true }
        let cache = core.store.directory + "/offsite-cache/" + settings.name
        do {
            var target = try OffsiteTargets.resolve(settings)
            target.onRetry = { [logger = core.logger] in logger.warning("offsite \(settings.name): \($0)") }
            let repository = try await OffsiteRepository.open(target, memory: cache)
            let report = try await OffsiteUploader(store: core.store, repository: repository, cache: cache).upload(snapshot)
            core.metrics.uploaded(volume: volume, target: settings.name, bytes: report.bytesUploaded, seconds: report.seconds)
            core.logger.notice("uploaded to offsite target", metadata: [
                "volume": "\(volume)", "target": "\(settings.name)", "snapshot": "\(snapshot.id.short)",
                "blobs": "\(report.blobsUploaded)", "bytes": "\(report.bytesUploaded)", "seconds": "\(String(format: "%.2f", report.seconds))"])
            update {
                $0.uploading = false
                $0.uploadedSnapshot = snapshot.id.hex
                $0.uploadedAt = AgentCore.time(Int64(Date().timeIntervalSince1970 * 1e9))
                $0.lastBytesUploaded = report.bytesUploaded
                $0.lastError = nil
            }
            if let policy = settings.retention {
                let collector = OffsiteCollector(repository: repository, cache: cache)
                let forgotten = try await collector.forget(volume: volume, policy: policy, dryRun: false).forgotten
                if !forgotten.isEmpty {
                    let gc = try await collector.collect()
                    core.logger.notice("offsite retention", metadata: [
                        "volume": "\(volume)", "target": "\(settings.name)", "forgotten": "\(forgotten.count)",
                        "packs_deleted": "\(gc.packsDeleted)", "bytes_deleted": "\(gc.bytesDeleted)"])
                }
            }
            return true
        } catch {
            core.metrics.error("offsite")
            let text = error.description
            core.logger.error("offsite upload of \(volume) to \(settings.name) failed: \(text)")
            update {
                $0.uploading = false
                $0.lastError = text
            }
            return false
        }
    }
}
