import Prometheus
import Snapshots

/// The agent's Prometheus series. Names follow Prometheus conventions:
/// `barge_` namespace, base units (seconds, bytes), `_total` on counters.
final class AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    private func counter(_ name: String, _ unit: String, _ labels: [(String, String)], _ help: String) -> Counter {
        registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "barge", metricName: name, unitName: unit, helpText: help), labels: labels)
    }

    private func gauge(_ name: String, _ unit: String, _ labels: [(String, String)], _ help: String) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "barge", metricName: name, unitName: unit, helpText: help), labels: labels)
    }

    func snapshotTaken(volume: String, seconds: Double, bytesAdded: Int) {
        gauge("snapshot_duration", "seconds", [("volume", volume)], "Duration of the volume's last snapshot").set(to: seconds)
        counter("snapshots", "total", [("volume", volume)], "Snapshots taken").increment()
        counter("snapshot_bytes_added", "total", [("volume", volume)], "Bytes snapshots added to the store").increment(by: Int64(bytesAdded))
    }

    func sent(volume: String, peer: String, bytes: Int, received: Int) {
        counter("replication_bytes_sent", "total", [("volume", volume), ("peer", peer)], "Protocol bytes sent to replicas").increment(by: Int64(bytes))
        self.received(volume: volume, peer: peer, bytes: received)
    }

    func received(volume: String, peer: String, bytes: Int) {
        counter("replication_bytes_received", "total", [("volume", volume), ("peer", peer)], "Protocol bytes received from peers")
            .increment(by: Int64(bytes))
    }

    func lag(volume: String, peer: String, seconds: Double, bytes: UInt64) {
        gauge("replication_lag", "seconds", [("volume", volume), ("peer", peer)], "How far the replica's newest snapshot is behind ours")
            .set(to: seconds)
        gauge("replication_lag", "bytes", [("volume", volume), ("peer", peer)], "Bytes our snapshots added since the replica's newest")
            .set(to: Double(bytes))
    }

    func standbyUpdated(volume: String, seconds: Double) {
        gauge("standby_update", "seconds", [("volume", volume)], "Duration of the last standby update").set(to: seconds)
    }

    func tookOver(volume: String, dataLossSeconds: Double) {
        counter("takeovers", "total", [("volume", volume)], "Times this node took the volume over after its owner's lease expired").increment()
        gauge("takeover_data_loss", "seconds", [("volume", volume)], "Age of the snapshot the last takeover came up at").set(to: dataLossSeconds)
    }

    func etcdRequests(_ count: Int) {
        counter("etcd_requests", "total", [], "Requests this agent sent to etcd (keepalives, reads, transactions)").increment(by: Int64(count))
    }

    func forgot(volume: String, count: Int) {
        counter("snapshots_forgotten", "total", [("volume", volume)], "Snapshots retention or `barge forget` removed from this node's index")
            .increment(by: Int64(count))
    }

    func collected(_ report: CollectionReport) {
        counter("gc_runs", "total", [], "gc runs completed on this node").increment()
        counter("gc_reclaimed", "bytes_total", [], "Pack bytes gc removed").increment(by: Int64(report.bytesReclaimed))
        counter("gc_copied", "bytes_total", [], "Live pack bytes gc copied out of rewritten packs").increment(by: Int64(report.bytesCopied))
    }

    func uploaded(volume: String, target: String, bytes: Int, seconds: Double) {
        counter("offsite_uploads", "total", [("volume", volume), ("target", target)], "Snapshots uploaded to an [[offsite]] target").increment()
        counter("offsite_uploaded", "bytes_total", [("volume", volume), ("target", target)], "Sealed bytes uploaded to an [[offsite]] target")
            .increment(by: Int64(bytes))
        gauge("offsite_upload", "seconds", [("volume", volume), ("target", target)], "Duration of the last upload").set(to: seconds)
    }

    func error(_ kind: String) {
        counter("errors", "total", [("kind", kind)], "Errors by kind").increment()
    }

    func text() -> String { registry.emitToString() }
}
