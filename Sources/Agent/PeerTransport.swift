import NIOCore
import NIOSSL

/// The transport both ends of a peer session share: TLS, an idle limit and
/// length-checked frames, wrapped for async use. PeerServer adds the server
/// side of TLS, PeerDialer the client side; everything above it is the same.
enum PeerTransport {
    /// A session that sends nothing for this long is closed.
    static let idleTimeout = TimeAmount.minutes(5)

    /// Builds the pipeline on a new channel (on its event loop) behind `tls`.
    static func configure(_ channel: any Channel, tls: any ChannelHandler) throws -> NIOAsyncChannel<ReceivedFrame, ByteBuffer> {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(tls)
        try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
        try pipeline.addHandler(IdleCloser())
        try pipeline.addHandler(ByteToMessageHandler(FrameDecoder()))
        return try NIOAsyncChannel<ReceivedFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
    }
}

/// Closes a connection the idle handler flagged.
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }
}
