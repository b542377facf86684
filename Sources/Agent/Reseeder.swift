import Foundation
import Replication
import ServiceLifecycle

/// A node that starts as a replica of a volume with no snapshot of it in its
/// store (a replaced disk, a new node) fetches the owner's newest snapshot at
/// once instead of waiting for the owner's next cycle, and says so in the log
/// and in `status` until it has one. Retries every `retryInterval` while the
/// owner cannot be reached; stops for a volume once any snapshot has arrived,
/// or when the owner has none yet (its first replication brings one).
struct Reseeder: Service {
    let core: AgentCore
    static let retryInterval: Duration = .seconds(5)

    func run() async throws {
        try await runUntilShutdown { [core] in
            var pending = Set(core.config.volumes.filter { $0.members.contains(core.node) }.map(\.name)
                .filter { volume in ((try? core.store.snapshots(volume: volume).isEmpty) ?? false)
                    && (try? core.ownership(volume).owner) != core.node })
            while !pending.isEmpty && !Task.isCancelled {
                for volume in pending.sorted() {
                    if (try? core.store.snapshots(volume: volume).isEmpty) == false {
                        pending.remove(volume)
                        core.reseeding.withLock { $0[volume] = nil }
                        continue
                    }
                    guard let owner = try? core.ownership(volume).owner, owner != core.node else { pending.remove(volume); continue }
                    if core.reseeding.withLock({ $0[volume] == nil }) {
                        core.logger.notice("the store has no snapshot of this volume: re-seeding it from its owner",
                                           metadata: ["volume": "\(volume)", "owner": "\(owner)"])
                    }
                    core.reseeding.withLock { $0[volume] = "re-seeding from \(owner)" }
                    do {
                        let report = try await core.fetch(volume, from: owner, snapshot: nil, asReplica: true)
                        core.logger.notice("re-seeded from the owner", metadata: [
                            "volume": "\(volume)", "owner": "\(owner)", "snapshot": "\(report.snapshot.prefix(12))",
                            "bytes": "\(report.bytesReceived)", "seconds": "\(String(format: "%.2f", report.seconds))"])
                        core.noteError(volume, nil)
                        core.reseeding.withLock { $0[volume] = nil }
                        pending.remove(volume)
                    } catch ReplicationError.peer(let refusal) where refusal.code == .unknownVolume {
                        // The owner has no snapshot yet: its first replication brings one.
                        core.logger.info("nothing to re-seed: the owner has no snapshot yet", metadata: ["volume": "\(volume)", "owner": "\(owner)"])
                        core.reseeding.withLock { $0[volume] = nil }
                        pending.remove(volume)
                    } catch {
                        core.noteError(volume, "re-seeding from \(owner) failed: \(error); retrying")
                    }
                }
                if !pending.isEmpty { try? await Task.sleep(for: Self.retryInterval) }
            }
            // Nothing (more) to re-seed: a service runs until shutdown.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
        }
    }
}
