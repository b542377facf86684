import Delta
import Foundation
import Repository
import Snapshots
import Wire

/// What a replica decides about an offer before any data moves.
public protocol OfferPolicy: Sendable {
    /// Throws a WireError (notOwner, staleEpoch, unknownVolume) to refuse.
    /// May persist a higher epoch it learns from the volume's owner.
    func admit(volume: String, from peer: String, owner: String, epoch: UInt64) throws(WireError)
}

public struct ReceiveOutcome: Sendable {
    public let volume: String
    public let snapshot: BlobID
    public let alreadyHad: Bool
    public let blobsReceived: Int
    public let seconds: Double
}

/// The replica's side of a session: answers offers from one authenticated
/// peer, one at a time, until the peer closes the stream.
public final class SnapshotReceiver {
    private let store: Store
    /// This node, named in errors the peer prints.
    private let node: String
    private let peer: String
    private let policy: OfferPolicy
    private let decoder: BlobDecoder

    public static let checkpointBytes = 8 << 20

    /// Called when blobs start to move, with what they make readable as they
    /// arrive: a replica builds its first standby copy meanwhile. The reception
    /// ends `arrivals` (finished after the commit, failed otherwise) in every case.
    public var onTransfer: ((StoredSnapshot, BlobArrivals) -> Void)?

    public init(store: Store, node: String, peer: String, policy: OfferPolicy) {
        self.store = store
        self.node = node
        self.peer = peer
        self.policy = policy
        self.decoder = BlobDecoder(store: store)
    }

    /// Handles one offer (the message already read). Commits, then acknowledges.
    /// A store that fails (a full disk, an I/O error) ends it with `storage`,
    /// naming the cause and the state directory, so the owner can say what to do.
    public func receive(offer: Message, on channel: MessageChannel) async throws -> ReceiveOutcome {
        guard case let .offer(volume, wireID, epoch, owner, recordBytes) = offer else {
            throw ReplicationError.fail(.unexpectedMessage, "expected an offer, got \(offer.kind)")
        }
        let snapshotID = BlobID(wireID)
        let record = try decodeRecord(recordBytes, id: snapshotID, volume: volume, epoch: epoch)
        do { try policy.admit(volume: volume, from: peer, owner: owner, epoch: epoch) } catch { throw ReplicationError.local(error) }
        do {
            return try await transfer(record, id: snapshotID, volume: volume, epoch: epoch, on: channel)
        } catch let error as RepositoryError {
            let cause = error.underlying.map { "\(error.message) (\($0))" } ?? error.message
            throw ReplicationError.fail(.storage, "\(node) cannot store snapshot \(snapshotID.short) of \(volume) "
                                        + "in its state directory \(store.directory): \(cause)")
        }
    }

    /// Asks for what is missing, verifies and appends it, commits, acknowledges.
    private func transfer(_ record: SnapshotRecord, id snapshotID: BlobID, volume: String, epoch: UInt64,
                          on channel: MessageChannel) async throws -> ReceiveOutcome {
        let started = Date()
        let wireID = snapshotID.wire
        if try store.index.snapshot(snapshotID) != nil {
            try await channel.send(.offerReply(snapshot: wireID, decision: .alreadyHave, knownEpoch: epoch))
            return ReceiveOutcome(volume: volume, snapshot: snapshotID, alreadyHad: true, blobsReceived: 0, seconds: 0)
        }
        try await channel.send(.offerReply(snapshot: wireID, decision: .send, knownEpoch: epoch))

        // Small checkpoints: what a killed transfer committed is not sent again.
        let writer = BlobWriter(store: store, checkpointBytes: Self.checkpointBytes)
        let arrivals = onTransfer.map { _ in BlobArrivals() }
        if let arrivals {
            writer.afterCommit = { arrivals.checkpointed() }
            onTransfer?(StoredSnapshot(id: snapshotID, record: record), arrivals)
        }
        var received = 0
        do {
            let basisRoot = try store.snapshots(volume: volume).last?.record.root
            let plan = try TransferPlan(writer: writer, root: record.root, basisRoot: basisRoot, arrivals: arrivals)
            while !plan.isComplete {
                for request in plan.nextRequests() { try await channel.send(request) }
                guard plan.outstanding > 0 else {
                    throw ReplicationError.fail(.internalError, "transfer of \(volume) stalled with nothing requested")
                }
                switch try await channel.expectMessage() {
                case let .blob(blob):
                    // Verified and appended here: a trip off the pool per blob cost 10-30% of a
                    // replication's speed (measured); the lease has threads of its own.
                    received += 1
                    try accept(blob, plan: plan)
                case let .needSignature(chunk):
                    try await channel.send(try signature(for: chunk, plan: plan))
                case let other:
                    throw ReplicationError.fail(.unexpectedMessage, "expected blobs for \(volume), got \(other.kind)")
                }
            }
        } catch {
            // Everything appended was verified, and trees only follow their
            // contents: keep it, so the next attempt resumes instead of resending.
            try? writer.checkpoint()
            arrivals?.fail(RepositoryError(.io, "the transfer of snapshot \(snapshotID.short) of \(volume) stopped: \(error)"))
            throw error
        }
        do {
            let codec = store.compression
            let committed = try await OffPool.run { try writer.commit(record, compressor: Compressor(codec: codec)) }
            guard committed == snapshotID else {
                throw ReplicationError.fail(.internalError, "snapshot \(snapshotID.short) re-encoded as \(committed.short)")
            }
        } catch {
            arrivals?.fail(RepositoryError(.io, "snapshot \(snapshotID.short) of \(volume) was not committed: \(error)"))
            throw error
        }
        arrivals?.finish()
        try await channel.send(.ack(snapshot: wireID))
        return ReceiveOutcome(volume: volume, snapshot: snapshotID, alreadyHad: false, blobsReceived: received,
                              seconds: Date().timeIntervalSince(started))
    }

    private func accept(_ blob: BlobPayload, plan: TransferPlan) throws {
        switch blob.kind {
        case .tree:
            do {
                try plan.received(tree: try decoder.verify(blob, kind: .tree, expectedLength: nil))
            } catch let error as ReplicationError where blob.encoding.isDelta && error.wire.code == .corruptData {
                guard plan.retryTreeWithoutBasis(BlobID(blob.id)) else { throw error }
            }
        case .chunk:
            let id = BlobID(blob.id)
            guard let request = plan.requested[id] else {
                throw ReplicationError.fail(.unexpectedMessage, "chunk \(id.short) was not asked for")
            }
            do {
                try plan.received(chunk: try decoder.verify(blob, kind: .chunk, expectedLength: Int(request.length)))
            } catch let error as ReplicationError where blob.encoding.isDelta && error.wire.code == .corruptData {
                // A delta against the wrong basis; the whole chunk settles it.
                guard plan.retryWithoutBasis(id) else { throw error }
            }
        }
    }

    private func signature(for chunk: WireID, plan: TransferPlan) throws -> Message {
        guard let request = plan.requested[BlobID(chunk)], !request.basis.isEmpty else {
            throw ReplicationError.fail(.unexpectedMessage, "signature asked for chunk \(chunk), which has no basis")
        }
        let basis = try decoder.basis(request.basis)
        let signature = try Rsync.signature(of: basis, parameters: .recommendedForWire(basisSize: basis.count))
        return .signature(chunk: chunk, basis: request.basis, signature: signature)
    }

    private func decodeRecord(_ bytes: [UInt8], id: BlobID, volume: String, epoch: UInt64) throws -> SnapshotRecord {
        guard BlobID.of(.snapshot, bytes) == id else {
            throw ReplicationError.fail(.corruptData, "the offered snapshot record does not hash to \(id.short)")
        }
        let record: SnapshotRecord
        do { record = try SnapshotRecord.decode(bytes) } catch {
            throw ReplicationError.fail(.corruptData, "the offered snapshot record does not decode: \(error)")
        }
        guard record.volume == volume, record.epoch == epoch else {
            throw ReplicationError.fail(.malformed, "the offer names \(volume) at epoch \(epoch), its record \(record.volume) at epoch \(record.epoch)")
        }
        return record
    }
}
