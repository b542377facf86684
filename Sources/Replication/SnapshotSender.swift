import Delta
import Foundation
import Repository
import Snapshots
import Wire

public struct SendOutcome: Sendable, Equatable {
    public var snapshot: BlobID
    public var alreadyThere: Bool
    public var bytesSent: Int
    public var bytesReceived: Int
    public var chunksStored: Int
    public var chunksDelta: Int
    public var trees: Int
    public var treesDelta: Int
    public var seconds: Double
}

/// The owner's side: offers one snapshot and answers the replica's requests
/// until it acknowledges. Pipelined: the replica keeps many requests in flight.
public final class SnapshotSender {
    private let store: Store
    /// One per thread that encodes chunks: a delta costs a signature and a search per chunk.
    private let encoders: [BlobEncoder]
    private var encoder: BlobEncoder { encoders[0] }
    private let limiter: BandwidthLimiter?

    public init(store: Store, bandwidthLimit: Int? = nil, workers: Int = Parallel.defaultWorkers) {
        self.store = store
        self.encoders = (0..<max(1, workers)).map { _ in BlobEncoder(store: store) }
        self.limiter = bandwidthLimit.map(BandwidthLimiter.init(bytesPerSecond:))
    }

    public func send(_ snapshot: StoredSnapshot, owner: String, on channel: MessageChannel) async throws -> SendOutcome {
        let started = Date()
        let sentBefore = channel.bytesSent, receivedBefore = channel.bytesReceived
        let wireID = snapshot.id.wire
        try await channel.send(.offer(volume: snapshot.record.volume, snapshot: wireID, epoch: snapshot.record.epoch,
                                      owner: owner, record: snapshot.record.encoded()))
        guard case let .offerReply(replied, decision, _) = try await channel.expectMessage(), replied == wireID else {
            throw ReplicationError.fail(.unexpectedMessage, "the replica did not answer the offer of \(snapshot.id.short)")
        }
        var done = decision == .alreadyHave
        while !done {
            switch try await channel.expectMessage() {
            case let .wantTrees(requests):
                try await lookUp(requests.map(\.id))
                for batch in Self.batches(requests) {
                    let blobs = try await OffPool.run { [encoder] in try batch.map { try encoder.tree($0) } }
                    for blob in blobs { try await emit(.blob(blob), on: channel) }
                }
            case let .wantChunks(requests):
                try await lookUp(requests.map(\.id))
                for batch in Self.batches(requests) {
                    let answers = try await OffPool.run { [encoders] in try Self.encode(batch, with: encoders) }
                    for (request, answer) in zip(batch, answers) {
                        switch answer {
                        case let .blob(blob): try await emit(.blob(blob), on: channel)
                        case .needSignature: try await channel.send(.needSignature(chunk: request.id))
                        }
                    }
                }
            case let .signature(chunk, basis, signature):
                let blob = try await OffPool.run { [store, encoder] in
                    guard let length = try store.index.location(of: BlobID(chunk))?.rawLength else {
                        throw ReplicationError.fail(.unexpectedMessage, "signature for chunk \(chunk), which this node does not hold")
                    }
                    return try encoder.chunk(chunk, length: UInt32(length), signature: signature, basis: basis)
                }
                try await emit(.blob(blob), on: channel)
            case let .ack(acknowledged) where acknowledged == wireID:
                done = true
            case let other:
                throw ReplicationError.fail(.unexpectedMessage, "unexpected \(other.kind) while sending \(snapshot.id.short)")
            }
        }
        return SendOutcome(snapshot: snapshot.id, alreadyThere: decision == .alreadyHave,
                           bytesSent: channel.bytesSent - sentBefore, bytesReceived: channel.bytesReceived - receivedBefore,
                           chunksStored: encoders.reduce(0) { $0 + $1.chunksStored }, chunksDelta: encoders.reduce(0) { $0 + $1.chunksDelta },
                           trees: encoder.trees, treesDelta: encoder.treesDelta, seconds: Date().timeIntervalSince(started))
    }

    /// Looks up where a request message's blobs are, for every encoder, in one read transaction.
    private func lookUp(_ ids: [WireID]) async throws {
        let locations = try await OffPool.run { [store] in try store.index.locations(of: ids.map(BlobID.init)) }
        for encoder in encoders { encoder.use(locations) }
    }

    /// A batch's chunks, encoded by the encoders at once (each takes every n-th
    /// request), answers in the requests' order.
    static func encode(_ batch: [ChunkRequest], with encoders: [BlobEncoder]) throws -> [BlobEncoder.ChunkAnswer] {
        let parts = min(encoders.count, batch.count)
        var results = [Result<BlobEncoder.ChunkAnswer, any Error>?](repeating: nil, count: batch.count)
        results.withUnsafeMutableBufferPointer { out in
            Parallel.forEach(parts, workers: parts) { part, _ in
                let encoder = encoders[part]
                for index in stride(from: part, to: batch.count, by: parts) { out[index] = Result { try encoder.chunk(batch[index]) } }
            }
        }
        return try results.map { try $0!.get() }
    }

    /// Requests encoded per trip off the pool: enough to amortize the hop, few
    /// enough (at most 16 chunks, a few MiB) to keep memory and latency small.
    static func batches<T>(_ requests: [T]) -> [[T]] {
        stride(from: 0, to: requests.count, by: 16).map { Array(requests[$0..<min($0 + 16, requests.count)]) }
    }

    private func emit(_ message: Message, on channel: MessageChannel) async throws {
        let before = channel.bytesSent
        try await channel.send(message)
        if let limiter { await limiter.spend(channel.bytesSent - before) }
    }
}

extension SignatureParameters {
    /// Signatures that travel: the recommended block length for the basis, and
    /// 8-byte strong sums (a collision only costs a retry: every patched chunk
    /// is checked against its SHA-256 id).
    static func recommendedForWire(basisSize: Int) -> SignatureParameters {
        SignatureParameters(blockLength: max(256, SignatureParameters.recommended(forBasisSize: basisSize).blockLength), strongLength: 8)
    }
}
