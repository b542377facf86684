import Foundation
import ServiceLifecycle

/// Applies each volume's `[volume.retention]` on every node that holds it
/// (owner and replicas, each to its own store), once per the node's
/// `retention_interval`, the first pass one interval after start. When a pass
/// forgot anything, gc reclaims the space right after, beside the other work.
struct RetentionKeeper: Service {
    let core: AgentCore

    func run() async throws {
        try await runUntilShutdown { [core] in
            var next = Date().addingTimeInterval(core.config.node.retentionIntervalSeconds)
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                guard Date() >= next else { continue }
                var forgotten = 0
                for volume in core.config.volumes where volume.retention != nil && volume.members.contains(core.node) {
                    if Task.isCancelled { return }
                    forgotten += await core.applyRetention(volume.name)
                }
                if forgotten > 0 && !Task.isCancelled { _ = try? await core.collectGarbage(by: "retention") }
                next = Date().addingTimeInterval(core.config.node.retentionIntervalSeconds)
            }
        }
    }
}
