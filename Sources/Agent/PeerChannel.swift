import NIOCore
import Replication
import Wire

/// A session's framed stream over TLS, for one task. Counts frame bytes.
final class PeerChannel: MessageChannel {
    private var inbound: NIOAsyncChannelInboundStream<ReceivedFrame>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    /// Whether an error frame went out: a session says why it ends once.
    private var failed = false
    /// Closes the connection from any thread: the pending `receive` then ends.
    let close: @Sendable () -> Void

    init(inbound: NIOAsyncChannelInboundStream<ReceivedFrame>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
         close: @escaping @Sendable () -> Void) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.close = close
    }

    func send(_ message: Message) async throws {
        let frame = message.encodedFrame()
        bytesSent += frame.count
        try await outbound.write(ByteBuffer(bytes: frame))
    }

    /// The next frame (keepalives are the transport's business: `KeepaliveFilter`).
    func receive() async throws -> Message {
        guard let frame = try await inbound.next() else { throw PeerChannelClosed() }
        bytesReceived += frame.size
        return frame.message
    }

    /// Tells the peer why the session ends, once; best effort, the stream closes next.
    func fail(_ error: WireError) async {
        guard !failed else { return }
        failed = true
        try? await send(.error(error))
    }

    /// After an error frame in the middle of a transfer: reads and drops what
    /// the peer still sends until the stream ends, which the peer does once it
    /// reads the error. Closing at once would make the kernel answer the blobs
    /// still in flight with a reset, and the peer would see the reset instead
    /// of the reason. The caller bounds it by closing the channel.
    func drainUntilClosed() async {
        while let frame = try? await inbound.next() {
            bytesReceived += frame.size
        }
    }
}

struct PeerChannelClosed: Error, CustomStringConvertible {
    var description: String { "the peer closed the connection" }
}
