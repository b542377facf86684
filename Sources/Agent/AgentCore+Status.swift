import Control
import Foundation
import Repository

extension AgentCore {
    /// Per volume: owner, epoch, newest snapshot; on the owner each replica's
    /// acknowledged snapshot and lag; on a replica the standby copy.
    func status() throws -> StatusReport {
        let now = Clock.nowNanoseconds()
        var volumes: [VolumeStatus] = []
        for settings in config.volumes where settings.members.contains(node) {
            let ownership = try ownership(settings.name)
            let snapshots = try store.snapshots(volume: settings.name)
            let latest = snapshots.last { $0.record.state == "complete" }
            let isOwner = ownership.owner == node
            var replicas: [ReplicaStatus] = []
            if isOwner {
                let acks = try store.index.acks(volume: settings.name)
                for peer in settings.members where peer != node {
                    let ack = acks.first { $0.peer == peer }
                    var lagSeconds: Double? = nil, lagBytes: UInt64? = nil
                    if let latest {
                        let ackedTime = ack?.snapshotTimeNanoseconds ?? Int64.min
                        let behind = snapshots.filter { $0.record.timeNanoseconds > ackedTime && $0.record.timeNanoseconds <= latest.record.timeNanoseconds }
                        lagBytes = behind.reduce(0) { $0 + $1.record.bytesAdded }
                        lagSeconds = ack.map { max(0, Double(latest.record.timeNanoseconds - $0.snapshotTimeNanoseconds) / 1e9) }
                            ?? Double(now - (snapshots.first?.record.timeNanoseconds ?? now)) / 1e9
                        metrics.lag(volume: settings.name, peer: peer, seconds: lagSeconds ?? 0, bytes: lagBytes ?? 0)
                    }
                    let failure = transferFailure(settings.name, to: peer)
                    replicas.append(ReplicaStatus(peer: peer, ackedSnapshot: ack?.snapshot.hex, ackedAt: ack.map { Self.time($0.ackedNanoseconds) },
                                                  lagSeconds: lagSeconds, lagBytes: lagBytes,
                                                  lastError: failure?.message, lastErrorHint: failure?.hint))
                }
            }
            let standby = isOwner ? nil : try store.index.standby(of: settings.name)
            var status = VolumeStatus(
                name: settings.name, path: settings.path, owner: ownership.owner, epoch: ownership.epoch,
                role: isOwner ? "owner" : "replica", latestSnapshot: latest?.id.hex,
                latestSnapshotTime: latest.map { Self.time($0.record.timeNanoseconds) }, snapshots: snapshots.count,
                replicas: replicas, standbyPath: isOwner ? nil : Self.standbyPath(for: settings),
                standbySnapshot: standby?.snapshot?.hex, standbyUpdating: standby.map { $0.updating != nil },
                container: suspended.withLock({ $0.contains(settings.name) }) && isOwner ? "fenced"
                    : settings.hooks.start == nil ? nil : containers.isRunning(settings.name).map { $0 ? "up" : "down" } ?? "down",
                lastError: lastError(settings.name) ?? (try? store.index.rollbackMark(of: settings.name)).flatMap { $0 }.map {
                    "the roll-back to \($0.target.short) did not finish; the container stays stopped: run `barge restore \(settings.name) --snapshot \($0.target.short) --in-place` again, or --snapshot \($0.preRestore.short) to undo"
                })
            status.reseed = reseeding.withLock { $0[settings.name] }
            if isOwner, let uploads = offsite.withLock({ $0[settings.name] }), !uploads.isEmpty {
                status.offsite = uploads.values.sorted { $0.target < $1.target }
            }
            volumes.append(status)
        }
        return StatusReport(node: node, pid: getpid(), startedAt: Self.time(Int64(startedAt.timeIntervalSince1970 * 1e9)), volumes: volumes)
    }

    static func time(_ nanoseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(nanoseconds) / 1e9))
    }
}
