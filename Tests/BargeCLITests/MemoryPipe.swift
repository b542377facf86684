import Foundation
import Replication
import Repository
import Snapshots
import Wire

/// One end of an in-memory duplex pipe. Frames are encoded and decoded on the
/// way, so the codec is exercised as on a socket. Test-only: each end is used
/// by one task at a time.
final class MemoryChannel: MessageChannel, @unchecked Sendable {
    struct Closed: Error {}
    private var iterator: AsyncStream<[UInt8]>.AsyncIterator
    private let output: AsyncStream<[UInt8]>.Continuation
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    /// Throws after this many received frames (a cut connection).
    var failAfterReceiving: Int?
    /// Rewrites frames before sending them (a hostile peer).
    var tamper: ((Message) -> Message)?

    private init(input: AsyncStream<[UInt8]>, output: AsyncStream<[UInt8]>.Continuation) {
        self.iterator = input.makeAsyncIterator()
        self.output = output
    }

    static func pair() -> (MemoryChannel, MemoryChannel) {
        let (a, aIn) = AsyncStream<[UInt8]>.makeStream()
        let (b, bIn) = AsyncStream<[UInt8]>.makeStream()
        return (MemoryChannel(input: a, output: bIn), MemoryChannel(input: b, output: aIn))
    }

    func send(_ message: Message) async throws {
        let frame = (tamper?(message) ?? message).encodedFrame()
        bytesSent += frame.count
        output.yield(frame)
    }

    func receive() async throws -> Message {
        if let limit = failAfterReceiving {
            guard limit > 0 else { throw Closed() }
            failAfterReceiving = limit - 1
        }
        guard let frame = await iterator.next() else { throw Closed() }
        bytesReceived += frame.count
        return try Message.decode(type: frame[4], payload: Array(frame[5...]))
    }

    func close() { output.finish() }
}

struct AdmitAll: OfferPolicy {
    func admit(volume: String, from peer: String, owner: String, epoch: UInt64) throws(WireError) {}
}

struct RefuseAll: OfferPolicy {
    let code: WireError.Code
    func admit(volume: String, from peer: String, owner: String, epoch: UInt64) throws(WireError) {
        throw WireError(code, "refused by the test")
    }
}

/// Two stores, "a" (the owner) and "b" (the replica), in a scratch directory.
final class StorePair {
    let root: String
    let a: Store, b: Store
    let volumePath: String

    /// `codecs`: how the owner's and the replica's stores compress (nil: a new store's default).
    init(_ label: String, codecs: (owner: Compression?, replica: Compression?) = (nil, nil)) throws {
        root = "/tmp/barge-repl-\(label)-\(UUID().uuidString.prefix(8))"
        volumePath = root + "/vol"
        try FileManager.default.createDirectory(atPath: volumePath, withIntermediateDirectories: true)
        a = try Store.initialize(at: root + "/a", compression: codecs.owner)
        b = try Store.initialize(at: root + "/b", compression: codecs.replica)
        for store in [a, b] { try store.index.addVolume(VolumeRecord(name: "v", path: volumePath, chunkAverage: 64 << 10)) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func snapshot(_ store: Store? = nil, path: String? = nil) throws -> StoredSnapshot {
        let store = store ?? a
        let id = try SnapshotEngine(stateDirectory: store.directory, nodeName: store === a ? "a" : "b")
            .snapshot(volume: "v", in: store, epoch: 1).id
        guard let stored = try store.index.snapshot(id) else { throw MemoryChannel.Closed() }
        return stored
    }

    /// Runs a sender on `a` and a receiver on `b` until one of them stops.
    func replicate(_ snapshot: StoredSnapshot, policy: OfferPolicy = AdmitAll(),
                   configure: (MemoryChannel, MemoryChannel) -> Void = { _, _ in },
                   onTransfer: (@Sendable (StoredSnapshot, BlobArrivals) -> Void)? = nil) async -> (Result<SendOutcome, Error>, Result<ReceiveOutcome, Error>) {
        let (senderEnd, receiverEnd) = MemoryChannel.pair()
        configure(senderEnd, receiverEnd)
        let b = self.b
        async let received: Result<ReceiveOutcome, Error> = {
            defer { receiverEnd.close() }
            do {
                let offer = try await receiverEnd.receive()
                let receiver = SnapshotReceiver(store: b, node: "b", peer: "a", policy: policy)
                receiver.onTransfer = onTransfer
                return .success(try await receiver.receive(offer: offer, on: receiverEnd))
            } catch let error as ReplicationError {
                if case let .local(wire) = error { try? await receiverEnd.send(.error(wire)) }
                return .failure(error)
            } catch {
                return .failure(error)
            }
        }()
        let sent: Result<SendOutcome, Error>
        do { sent = .success(try await SnapshotSender(store: a).send(snapshot, owner: "a", on: senderEnd)) } catch { sent = .failure(error) }
        senderEnd.close()
        return (sent, await received)
    }
}
