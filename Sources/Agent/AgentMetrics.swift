import Prometheus

/// The agent's Prometheus series. Names follow Prometheus conventions:
/// `_total` counters, base units (seconds, bytes).
final class AgentMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    func snapshotTaken(volume: String, seconds: Double, bytesAdded: Int) {
        registry.makeGauge(name: "barge_snapshot_duration_seconds", labels: [("volume", volume)],
                           help: "Duration of the volume's last snapshot").set(to: seconds)
        registry.makeCounter(name: "barge_snapshots_total", labels: [("volume", volume)],
                             help: "Snapshots taken").increment()
        registry.makeCounter(name: "barge_snapshot_bytes_added_total", labels: [("volume", volume)],
                             help: "Bytes snapshots added to the store").increment(by: Int64(bytesAdded))
    }

    func sent(volume: String, peer: String, bytes: Int, received: Int) {
        registry.makeCounter(name: "barge_replication_bytes_sent_total", labels: [("volume", volume), ("peer", peer)],
                             help: "Protocol bytes sent to replicas").increment(by: Int64(bytes))
        registry.makeCounter(name: "barge_replication_bytes_received_total", labels: [("volume", volume), ("peer", peer)],
                             help: "Protocol bytes received from peers").increment(by: Int64(received))
    }

    func received(volume: String, peer: String, bytes: Int) {
        registry.makeCounter(name: "barge_replication_bytes_received_total", labels: [("volume", volume), ("peer", peer)],
                             help: "Protocol bytes received from peers").increment(by: Int64(bytes))
    }

    func lag(volume: String, peer: String, seconds: Double, bytes: UInt64) {
        registry.makeGauge(name: "barge_replication_lag_seconds", labels: [("volume", volume), ("peer", peer)],
                           help: "How far the replica's newest snapshot is behind ours").set(to: seconds)
        registry.makeGauge(name: "barge_replication_lag_bytes", labels: [("volume", volume), ("peer", peer)],
                           help: "Bytes our snapshots added since the replica's newest").set(to: Double(bytes))
    }

    func standbyUpdated(volume: String, seconds: Double) {
        registry.makeGauge(name: "barge_standby_update_seconds", labels: [("volume", volume)],
                           help: "Duration of the last standby update").set(to: seconds)
    }

    func error(_ kind: String) {
        registry.makeCounter(name: "barge_errors_total", labels: [("kind", kind)], help: "Errors by kind").increment()
    }

    func text() -> String { registry.emitToString() }
}
