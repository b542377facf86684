import NIOCore
import NIOTLS

/// Completes `ready` when the TLS handshake has finished, or fails it when the
/// connection errs or closes first. The request is written only after that, so
/// a failure before it is known to be safe to retry on another endpoint.
final class TLSReadyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    struct ClosedBeforeHandshake: Error {}

    private let ready: EventLoopPromise<Void>

    init(ready: EventLoopPromise<Void>) {
        self.ready = ready
    }

    // A promise completed twice keeps its first result, so every path may complete it.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent { ready.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready.fail(ClosedBeforeHandshake())
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        ready.fail(ClosedBeforeHandshake())
    }
}
