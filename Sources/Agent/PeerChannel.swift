import NIOCore
import Replication
import Wire

/// A session's framed stream over TLS, for one task. Counts frame bytes.
final class PeerChannel: MessageChannel {
    private var inbound: NIOAsyncChannelInboundStream<ReceivedFrame>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    init(inbound: NIOAsyncChannelInboundStream<ReceivedFrame>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    func send(_ message: Message) async throws {
        let frame = message.encodedFrame()
        bytesSent += frame.count
        try await outbound.write(ByteBuffer(bytes: frame))
    }

    func receive() async throws -> Message {
        guard let frame = try await inbound.next() else { throw PeerChannelClosed() }
        bytesReceived += frame.size
        return frame.message
    }

    /// Tells the peer why the session ends; best effort, the stream closes next.
    func fail(_ error: WireError) async {
        try? await send(.error(error))
    }
}

struct PeerChannelClosed: Error, CustomStringConvertible {
    var description: String { "the peer closed the connection" }
}
