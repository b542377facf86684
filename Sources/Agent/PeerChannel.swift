import Glibc
import NIOCore
import NIOSSL
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
        do { try await outbound.write(ByteBuffer(bytes: frame)) } catch { throw PeerChannelClosed.ifLost(error) }
    }

    /// The next frame (keepalives are the transport's business: `KeepaliveFilter`).
    func receive() async throws -> Message {
        let next: ReceivedFrame?
        do { next = try await inbound.next() } catch { throw PeerChannelClosed.ifLost(error) }
        guard let frame = next else { throw PeerChannelClosed() }
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

/// The session's connection went away: closed by the peer or by this node
/// (`Heartbeat`, a take-over), reset, or cut short. Every such error of the
/// transport becomes this one, so callers tell it from a refusal or bad data.
struct PeerChannelClosed: Error, CustomStringConvertible {
    /// The transport's error, when the connection did not simply end.
    var cause: (any Error)?

    var description: String { cause.map { "the connection was lost (\($0))" } ?? "the peer closed the connection" }

    /// `error` as a lost connection when it is one, else unchanged.
    static func ifLost(_ error: any Error) -> any Error {
        let lost = switch error {
        case is PeerChannelClosed: false
        case let channel as ChannelError:
            switch channel {
            case .ioOnClosedChannel, .alreadyClosed, .eof, .outputClosed, .inputClosed: true
            default: false
            }
        case let io as IOError: [ECONNRESET, EPIPE, ETIMEDOUT].contains(io.errnoCode)
        case let tls as NIOSSLError: tls == .uncleanShutdown
        default: false
        }
        return lost ? PeerChannelClosed(cause: error) : error
    }
}
