import Foundation
import ServiceLifecycle

/// Applies each volume's `[volume.retention]` on every node that holds it
/// (owner and replicas, each to its own store), once per the node's
/// `retention_interval`, the first pass one interval after start.
struct RetentionKeeper: Service {
    let core: AgentCore

    func run() async throws {
        try await runUntilShutdown { [core] in
            var next = Date().addingTimeInterval(core.config.node.retentionIntervalSeconds)
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                guard Date() >= next else { continue }
                for volume in core.config.volumes where volume.retention != nil && volume.members.contains(core.node) {
                    if Task.isCancelled { return }
                    await core.applyRetention(volume.name)
                }
                next = Date().addingTimeInterval(core.config.node.retentionIntervalSeconds)
            }
        }
    }
}
