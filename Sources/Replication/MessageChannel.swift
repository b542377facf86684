import Wire

/// One side of a peer session's framed stream. Owned by one task at a time.
public protocol MessageChannel: AnyObject {
    func send(_ message: Message) async throws
    /// The next message; throws at end of stream.
    func receive() async throws -> Message
    /// Frame bytes sent so far (the protocol's bytes; TLS adds its records).
    var bytesSent: Int { get }
    var bytesReceived: Int { get }
}

extension MessageChannel {
    /// The next message, with `error` frames turned into thrown errors.
    public func expectMessage() async throws -> Message {
        let message = try await receive()
        if case let .error(error) = message { throw ReplicationError.peer(error) }
        return message
    }
}
