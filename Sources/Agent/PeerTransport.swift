import NIOCore
import NIOSSL
import Logging

/// The transport both ends of a peer session share: TLS, keepalives, an idle
/// limit and length-checked frames, wrapped for async use. PeerServer adds the
/// server side of TLS, PeerDialer the client side; everything above it is the same.
enum PeerTransport {
    /// Builds the pipeline on a new channel (on its event loop) behind `tls`.
    /// `timeout`: a session that receives nothing for this long is closed; each
    /// side sends a keepalive after a sixth of it without a frame of its own.
    static func configure(_ channel: any Channel, tls: any ChannelHandler, timeout seconds: Double,
                          logger: Logger) throws -> NIOAsyncChannel<ReceivedFrame, ByteBuffer> {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(tls)
        try pipeline.addHandler(Heartbeat(timeout: .milliseconds(Int64(seconds * 1000)), logger: logger))
        try pipeline.addHandler(ByteToMessageHandler(FrameDecoder()))
        try pipeline.addHandler(KeepaliveFilter())
        return try NIOAsyncChannel<ReceivedFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
    }
}
