import Cluster
import Control
import Etcd
import Foundation

extension ClusterCoordinator {
    /// What etcd holds for this barge cluster now: members, owner records with
    /// their tokens and what each member holds, and the newest events.
    func report() async throws -> ClusterReport {
        let nodes = try await client.range(prefix: keys.nodes)
        let owners = try await client.range(prefix: keys.owners)
        count(2)
        let members = nodes.values.compactMap { kv -> ClusterReport.Member? in
            guard let record = try? NodeRecord.decode(kv.value) else { return nil }
            return ClusterReport.Member(node: record.node, address: record.address, lease: String(kv.lease, radix: 16))
        }
        var records: [ClusterReport.Owner] = [], events: [ClusterReport.Event] = []
        for volume in core.config.volumes {
            let kv = owners.values.first { keys.name(in: $0.key, below: keys.owners) == volume.name }
            let owner = kv.flatMap { try? OwnerValue.decode($0.value) }
            let held = try await client.range(prefix: keys.held(volume.name))
            let recent = try await client.range(prefix: keys.events(volume.name))
            count(2)
            var holding: [String: String] = [:]
            for value in held.values {
                if let record = try? HeldSnapshot.decode(value.value) { holding[record.node] = "\(record.snapshot.prefix(12))@\(record.epoch)" }
            }
            records.append(ClusterReport.Owner(volume: volume.name, owner: owner?.owner, token: kv.map { OwnerValue.token(modRevision: $0.modRevision) },
                                               lease: kv.map { String($0.lease, radix: 16) }, held: holding))
            for value in recent.values.suffix(5) {
                guard let event = try? ClusterEvent.decode(value.value) else { continue }
                events.append(ClusterReport.Event(volume: event.volume, kind: event.kind, owner: event.owner, previousOwner: event.previousOwner,
                                                  token: event.token, snapshot: event.snapshot, dataLossSeconds: event.dataLossSeconds,
                                                  at: AgentCore.time(event.atNanoseconds)))
            }
        }
        let (lease, alive) = leaseAlive ?? (0, false)
        return ClusterReport(node: core.node, endpoints: client.endpoints, etcdCluster: client.clusterID.map { String($0, radix: 16) },
                             prefix: settings.prefix, leaseSeconds: settings.leaseTTLSeconds,
                             lease: lease == 0 ? nil : String(lease, radix: 16), leaseAlive: alive,
                             members: members.sorted { $0.node < $1.node }, owners: records, events: events)
    }
}
