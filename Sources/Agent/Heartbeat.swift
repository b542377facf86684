import Logging
import NIOCore
import Wire

/// Tells a live peer from one that froze or was cut off by a partition, so
/// neither side waits for it (holding a volume's lock) longer than `timeout`.
///
/// Each side sends a keepalive frame when it has written nothing for a sixth of
/// the timeout, so a live peer is never silent for long, however busy (a commit's
/// fsync, a large chunk behind a bandwidth limit). The session is closed when:
/// - this side asked for data (a read is pending) and no byte came for `timeout`.
///   Only a pending read counts: while the consumer is busy elsewhere, frames
///   wait in the channel's buffer and reading pauses; that is not the peer's fault;
/// - a write has not completed for `timeout` and nothing came either: a peer that is
///   only slow to take bytes (a slow disk) still sends keepalives, which are read
///   even then (`KeepaliveFilter` keeps them out of the channel's buffer).
final class Heartbeat: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let keepalive = Message.keepalive.encodedFrame()

    private let timeout: TimeAmount
    private let interval: TimeAmount
    private let logger: Logger
    /// Set when a read is asked for and nothing has arrived since.
    private var waitingSince: NIODeadline?
    private var lastRead = NIODeadline.now()
    private var lastWrite = NIODeadline.now()
    private var writesPending = 0
    private var lastWriteDone = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var stopped = false

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.interval = .nanoseconds(max(timeout.nanoseconds / 6, 1_000_000))
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    func read(context: ChannelHandlerContext) {
        if waitingSince == nil { waitingSince = .now() }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        waitingSince = nil
        lastRead = .now()
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        track(context, promise) { context.write(data, promise: $0) }
    }

    private func track(_ context: ChannelHandlerContext, _ promise: EventLoopPromise<Void>?, _ write: (EventLoopPromise<Void>) -> Void) {
        lastWrite = .now()
        if writesPending == 0 { lastWriteDone = lastWrite }
        writesPending += 1
        let done = promise ?? context.eventLoop.makePromise()
        done.futureResult.assumeIsolated().whenComplete { _ in
            self.writesPending -= 1
            self.lastWriteDone = .now()
        }
        write(done)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil, !stopped else { return }
        lastWrite = .now()
        schedule(context)
    }

    private func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
    }

    private func schedule(_ context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            guard !stopped else { return }
            tick(context)
            if !stopped { schedule(context) }
        }
    }

    private func tick(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        if let since = waitingSince, now - since >= timeout {
            close(context, "nothing received from the peer for \(seconds(now - since)) s")
        } else if writesPending > 0, now - lastWriteDone >= timeout, now - lastRead >= timeout {
            close(context, "the peer took no bytes and sent none for \(seconds(now - lastWriteDone)) s")
        } else if now - lastWrite >= interval {
            track(context, nil) { context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: Self.keepalive)), promise: $0) }
        }
    }

    private func close(_ context: ChannelHandlerContext, _ reason: String) {
        logger.warning("closing the peer session: \(reason) (peer_timeout); it froze or the network is cut",
                       metadata: ["remote": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"])
        stop()
        context.close(promise: nil)
    }

    private func seconds(_ amount: TimeAmount) -> String {
        "\(Double(amount.nanoseconds / 100_000_000) / 10)"
    }
}

/// Drops keepalive frames before the session's buffer: they only prove the peer
/// is there (to `Heartbeat`, as bytes read), and must be read even while the
/// session's reader is busy and its buffer full.
final class KeepaliveFilter: ChannelInboundHandler {
    typealias InboundIn = ReceivedFrame
    typealias InboundOut = ReceivedFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard unwrapInboundIn(data).message != .keepalive else { return }
        context.fireChannelRead(data)
    }
}
