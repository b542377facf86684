import AgentConfig
import Control
import Foundation
import Replication
import Repository
import Snapshots
import Wire

/// History from a peer: its list of snapshots, one of them fetched into this
/// node's store over the same mutual TLS (the peer offers it, this node asks
/// only for what its store lacks and verifies every blob), and the re-seeding
/// of an empty store from the volume's owner.
extension AgentCore {
    func peerSnapshots(_ volume: String, from peerName: String) async throws -> PeerSnapshotList {
        let peer = try configuredPeer(peerName)
        let records = try await PeerDialer(core: self).withSession(to: peer) { channel -> [Data] in
            try await channel.send(.listSnapshots(volume: volume))
            var records: [Data] = []
            while true {
                guard case let .snapshotList(listed, page, more) = try await channel.expectMessage(), listed == volume else {
                    throw ReplicationError.fail(.unexpectedMessage, "\(peerName) did not answer with its snapshots of \(volume)")
                }
                records += page.map { Data($0) }
                guard records.count <= WireLimits.maxListedSnapshots else {
                    throw ReplicationError.fail(.limitExceeded, "\(peerName) lists more than \(WireLimits.maxListedSnapshots) snapshots of \(volume)")
                }
                if !more { return records }
            }
        }
        return PeerSnapshotList(peer: peerName, volume: volume, records: records)
    }

    /// Fetches a snapshot (nil: the peer's newest complete one). `asReplica`: the
    /// offer must come from the volume's owner at its epoch, as any replication,
    /// and the standby copy follows; otherwise it is kept as history only.
    func fetch(_ volume: String, from peerName: String, snapshot: BlobID?, asReplica: Bool = false) async throws -> FetchReport {
        let peer = try configuredPeer(peerName)
        let store = self.store, node = self.node
        let policy: any OfferPolicy = asReplica
            ? ReplicaPolicy(node: node, config: config, index: store.index, logger: logger) : HistoryPolicy()
        let (outcome, bytes) = try await PeerDialer(core: self).withSession(to: peer) { channel -> (ReceiveOutcome, Int) in
            try await channel.send(.fetch(volume: volume, snapshot: snapshot?.wire))
            let offer = try await channel.expectMessage()
            guard case let .offer(offered, id, _, _, record) = offer, offered == volume, snapshot.map({ $0 == BlobID(id) }) ?? true else {
                throw ReplicationError.fail(.unexpectedMessage, "\(peerName) did not offer the snapshot asked for")
            }
            try Self.ensureVolumeRow(volume, record: record, in: store)
            let receiver = SnapshotReceiver(store: store, node: node, peer: peerName, policy: policy)
            if asReplica { receiver.onTransfer = { [self] target, arrivals in beginEarlyStandby(target, arrivals: arrivals) } }
            return (try await receive(offer, of: volume, from: peerName, with: receiver, on: channel), channel.bytesReceived)
        }
        metrics.received(volume: volume, peer: peerName, bytes: bytes)
        logger.notice("snapshot fetched", metadata: ["volume": "\(volume)", "peer": "\(peerName)", "snapshot": "\(outcome.snapshot.short)",
                                                     "blobs": "\(outcome.blobsReceived)", "as": "\(asReplica ? "replica" : "history")"])
        if asReplica { await standby.schedule(volume, core: self) }
        return FetchReport(peer: peerName, volume: volume, snapshot: outcome.snapshot.hex, alreadyHad: outcome.alreadyHad,
                           blobsReceived: outcome.blobsReceived, bytesReceived: bytes, seconds: outcome.seconds)
    }

    /// Receives an offered snapshot under the volume's lock, registered so that a
    /// take-over can cut it off (`cutReceptions`) instead of waiting for it.
    func receive(_ offer: Message, of volume: String, from peer: String, with receiver: SnapshotReceiver,
                 on channel: PeerChannel) async throws -> ReceiveOutcome {
        try await receptions.receiving(volume, from: peer, close: channel.close) {
            try await locks.withLock(volume) { try await receiver.receive(offer: offer, on: channel) }
        }
    }

    /// The peer's side of `listSnapshots`: pages of records, oldest first.
    func answerList(_ volume: String, on channel: PeerChannel) async throws {
        let records = try store.snapshots(volume: volume).map { $0.record.encoded() }
        var page: [[UInt8]] = [], pageBytes = 0
        for (index, record) in records.enumerated() {
            page.append(record)
            pageBytes += record.count + 4
            let last = index == records.count - 1
            if last || page.count == WireLimits.maxSnapshotsPerPage || pageBytes > WireLimits.maxFrameLength / 2 {
                try await channel.send(.snapshotList(volume: volume, records: page, more: !last))
                page = []
                pageBytes = 0
            }
        }
        if records.isEmpty { try await channel.send(.snapshotList(volume: volume, records: [], more: false)) }
    }

    /// The peer's side of `fetch`: offers the snapshot and serves the transfer.
    /// The offer names the owner as this node knows it, so an asking replica
    /// admits it only from the owner itself.
    func answerFetch(_ volume: String, snapshot wanted: WireID?, to peerName: String, on channel: PeerChannel) async throws {
        let snapshots = try store.snapshots(volume: volume)
        let chosen = wanted.map { id in snapshots.first { $0.id == BlobID(id) } } ?? snapshots.last { $0.record.state == "complete" }
        guard let chosen else {
            let what = wanted.map { "snapshot \(BlobID($0).short) of \(volume)" } ?? "complete snapshot of \(volume)"
            throw ReplicationError.local(WireError(.unknownVolume, "\(node) has no \(what)"))
        }
        let owner = (try? ownership(volume).owner) ?? node
        let outcome = try await SnapshotSender(store: store, bandwidthLimit: config.peer(named: peerName)?.bandwidthLimit)
            .send(chosen, owner: owner, on: channel)
        logger.info("snapshot served", metadata: ["volume": "\(volume)", "peer": "\(peerName)", "snapshot": "\(chosen.id.short)",
                                                  "bytes_sent": "\(outcome.bytesSent)"])
    }

    private func configuredPeer(_ name: String) throws -> PeerSettings {
        guard let peer = config.peer(named: name) else {
            let known = config.peers.map(\.name).joined(separator: ", ")
            throw ControlFailure(message: "no [[peer]] named \(name) in \(node)'s config", hint: "configured peers: \(known)", exitCode: 2)
        }
        return peer
    }

    /// A volume this store has never seen gets its row from the offered record (restore needs it).
    private static func ensureVolumeRow(_ volume: String, record bytes: [UInt8], in store: Store) throws {
        guard try store.index.volume(named: volume) == nil,
              let record = try? SnapshotRecord.decode(bytes) else { return }
        try store.index.addVolume(VolumeRecord(name: volume, path: record.volumePath, chunkAverage: record.chunkAverage,
                                               crossMounts: record.crossMounts))
    }
}

/// History fetched on request: any configured peer's snapshot, kept as it was
/// recorded (epoch, state); nothing about ownership changes.
struct HistoryPolicy: OfferPolicy {
    func admit(volume: String, from peer: String, owner: String, epoch: UInt64) throws(WireError) {}
}
