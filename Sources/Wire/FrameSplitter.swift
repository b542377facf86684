/// Cuts a byte stream into frames. The length is checked before any payload
/// is buffered, so a hostile length costs nothing.
public struct FrameSplitter: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// The frame length a 4-byte prefix announces, refused when out of bounds.
    public static func frameLength(_ prefix: some Collection<UInt8>) throws(WireError) -> Int {
        var length = 0
        for byte in prefix.prefix(4) { length = length << 8 | Int(byte) }
        guard length >= 1, length <= WireLimits.maxFrameLength else {
            throw WireError(.limitExceeded, "frame length \(length) outside 1...\(WireLimits.maxFrameLength)")
        }
        return length
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) { buffer.append(contentsOf: bytes) }

    /// The next whole frame's message, or nil until more bytes arrive.
    public mutating func next() throws(WireError) -> Message? {
        let available = buffer.count - start
        guard available >= 4 else { return nil }
        let length = try Self.frameLength(buffer[start..<start + 4])
        guard available >= 4 + length else { return nil }
        let type = buffer[start + 4]
        let payload = Array(buffer[(start + 5)..<(start + 4 + length)])
        start += 4 + length
        if start > 1 << 16 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return try Message.decode(type: type, payload: payload)
    }

    /// Bytes held that do not yet make a frame.
    public var pendingByteCount: Int { buffer.count - start }
}
