import Foundation
import ServiceLifecycle
import Synchronization

/// On the owner, every volume's `interval`: take a snapshot and replicate it.
/// Checks each second which volumes are due, so a reloaded config applies at
/// once; volumes run concurrently, each at most once at a time.
struct SnapshotScheduler: Service {
    let core: AgentCore
    private let running = RunningSet()

    init(core: AgentCore) { self.core = core }

    func run() async throws {
        try await runUntilShutdown { [core, running] in
            var due: [String: Date] = [:]
            var intervals: [String: Double] = [:]
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    let now = Date()
                    for volume in core.config.volumes {
                        guard (try? core.ownership(volume.name))?.owner == core.node, !core.suspended.withLock({ $0.contains(volume.name) }) else {
                            due[volume.name] = nil
                            continue
                        }
                        if intervals.updateValue(volume.intervalSeconds, forKey: volume.name) != volume.intervalSeconds {
                            // New, or its interval changed on reload: count from now.
                            due[volume.name] = nil
                        }
                        guard let next = due[volume.name] else {
                            due[volume.name] = now.addingTimeInterval(volume.intervalSeconds)
                            continue
                        }
                        guard next <= now, running.insert(volume.name) else { continue }
                        due[volume.name] = now.addingTimeInterval(volume.intervalSeconds)
                        let name = volume.name, hasReplicas = volume.members.count > 1
                        group.addTask {
                            await Self.cycle(core, name, replicas: hasReplicas)
                            running.remove(name)
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
        }
    }

    private static func cycle(_ core: AgentCore, _ volume: String, replicas: Bool) async {
        do {
            // An unchanged volume gets no new snapshot; its replicas are then already current.
            let outcome = try await core.snapshot(volume, reuseUnchanged: true)
            if outcome.reused, let settings = core.config.volume(named: volume) {
                let acked = Set(((try? core.store.index.acks(volume: volume)) ?? []).filter { $0.snapshot == outcome.id }.map(\.peer))
                if settings.members.filter({ $0 != core.node }).allSatisfy(acked.contains) { return }
            }
            // A stop requested during the snapshot must not wait for a replication too.
            if replicas && !Task.isCancelled { _ = try await core.replicate(volume) }
        } catch {
            core.metrics.error("scheduled")
            core.logger.error("scheduled snapshot of \(volume) failed: \(error)")
            core.noteError(volume, "\(error)")
        }
    }
}

/// Volumes with a cycle in progress.
final class RunningSet: Sendable {
    private let names = Mutex<Set<String>>([])
    func insert(_ name: String) -> Bool { names.withLock { $0.insert(name).inserted } }
    func remove(_ name: String) { _ = names.withLock { $0.remove(name) } }
}
