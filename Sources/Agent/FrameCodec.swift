import NIOCore
import Wire

/// A decoded frame and its size on the wire.
struct ReceivedFrame: Sendable {
    let message: Message
    let size: Int
}

/// Splits the TLS plaintext into frames. The length is checked before the
/// payload is buffered; a bad frame fails the channel, and the session sends
/// an error frame and closes.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ReceivedFrame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let prefix = buffer.getBytes(at: buffer.readerIndex, length: 4) else { return .needMoreData }
        let length = try FrameSplitter.frameLength(prefix)
        guard buffer.readableBytes >= 4 + length else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let type = buffer.readInteger(as: UInt8.self)!
        let payload = buffer.readBytes(length: length - 1)!
        let message = try Message.decode(type: type, payload: payload)
        context.fireChannelRead(wrapInboundOut(ReceivedFrame(message: message, size: 4 + length)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
