import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 POST to an endpoint on a fresh connection (closed afterwards),
/// with SwiftNIO's HTTP codec and, for https, NIOSSL.
///
/// Two deadlines bound it: `connectBy` for TCP connect and the TLS handshake,
/// `answerBy` for the rest. At a deadline the channel is closed, which ends
/// whatever is waiting on it; no call blocks an event loop.
struct HTTPExchange: Sendable {
    /// A transport failure, and whether the request may have reached the server.
    /// Before `sent`, retrying elsewhere cannot apply a request twice.
    struct Failure: Error {
        var sent: Bool
        var underlying: any Error
    }

    struct TooLarge: Error { var limit: Int }
    struct NoResponse: Error {}

    let group: any EventLoopGroup
    let tls: NIOSSLContext?

    typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    /// Connects, sends the request and hands the response head and body to
    /// `handle`. Errors that `handle` throws pass through unchanged; transport
    /// errors become `Failure`.
    func post<T: Sendable>(
        to endpoint: Endpoint, path: String, body: [UInt8], authorization: String?,
        connectBy: NIODeadline, answerBy: NIODeadline,
        _ handle: (HTTPResponseHead, inout ResponseBody) async throws -> T
    ) async throws -> T {
        let (connection, ready) = try await connect(to: endpoint, by: connectBy)
        // Cancelling the calling task (a watch whose consumer left) closes the connection.
        return try await withTaskCancellationHandler {
            let timer = connection.channel.eventLoop.scheduleTask(deadline: connectBy) { connection.channel.close(promise: nil) }
            return try await connection.executeThenClose { inbound, outbound in
                do {
                    try await ready.get()
                } catch {
                    throw Failure(sent: false, underlying: error)
                }
                timer.cancel()
                let answerTimer = connection.channel.eventLoop.scheduleTask(deadline: answerBy) { connection.channel.close(promise: nil) }
                defer { answerTimer.cancel() }
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
                head.headers.add(name: "Host", value: endpoint.authority)
                head.headers.add(name: "Content-Type", value: "application/json")
                head.headers.add(name: "Content-Length", value: String(body.count))
                head.headers.add(name: "Connection", value: "close")
                if let authorization { head.headers.add(name: "Authorization", value: authorization) }
                var iterator = inbound.makeAsyncIterator()
                let responseHead: HTTPResponseHead
                do {
                    try await outbound.write(contentsOf: [
                        .head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil),
                    ])
                    guard case let .head(received)? = try await iterator.next() else { throw NoResponse() }
                    responseHead = received
                } catch {
                    throw Failure(sent: true, underlying: error)
                }
                var responseBody = ResponseBody(iterator: iterator, timer: answerTimer, channel: connection.channel)
                return try await handle(responseHead, &responseBody)
            }
        } onCancel: {
            connection.channel.close(promise: nil)
        }
    }

    private func connect(to endpoint: Endpoint, by deadline: NIODeadline) async throws(Failure) -> (Connection, EventLoopFuture<Void>) {
        let remaining = deadline - .now()
        guard remaining > .zero else { throw Failure(sent: false, underlying: ChannelError.connectTimeout(.zero)) }
        let tls = endpoint.secure ? self.tls : nil
        if endpoint.secure && tls == nil {
            throw Failure(sent: false, underlying: EtcdError(.invalidArgument, "\(endpoint) is https but no TLS context was configured"))
        }
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(remaining)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        let ready: EventLoopFuture<Void>
                        if let tls {
                            // SNI carries names only; for an IP address NIOSSL checks the certificate against the address.
                            let literal = endpoint.host.contains(":") || endpoint.host.allSatisfy { $0.isNumber || $0 == "." }
                            let name = literal ? nil : endpoint.host
                            let promise = channel.eventLoop.makePromise(of: Void.self)
                            try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: name))
                            try sync.addHandler(TLSReadyHandler(ready: promise))
                            ready = promise.futureResult
                        } else {
                            ready = channel.eventLoop.makeSucceededVoidFuture()
                        }
                        try sync.addHTTPClientHandlers()
                        let connection = try Connection(wrappingChannelSynchronously: channel)
                        return (connection, ready)
                    }
                }
        } catch {
            throw Failure(sent: false, underlying: error)
        }
    }
}

/// The body of a response, part by part, as the HTTP decoder delivers it (chunked encoding undone).
struct ResponseBody {
    fileprivate var iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    fileprivate let timer: Scheduled<Void>
    /// The connection, for closing it from elsewhere (a failed liveness probe).
    let channel: any Channel
    private var ended = false

    fileprivate init(iterator: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator, timer: Scheduled<Void>, channel: any Channel) {
        self.iterator = iterator
        self.timer = timer
        self.channel = channel
    }

    /// The next part, or nil at the end of the response. A connection that
    /// closes before the end is a `Failure`.
    mutating func next() async throws(HTTPExchange.Failure) -> ByteBuffer? {
        if ended { return nil }
        do {
            switch try await iterator.next() {
            case let .body(part)?: return part
            case .end?: ended = true; return nil
            case .head?, nil: throw HTTPExchange.NoResponse()
            }
        } catch {
            throw HTTPExchange.Failure(sent: true, underlying: error)
        }
    }

    /// The whole body, failing once it exceeds `limit` bytes.
    mutating func collect(limit: Int) async throws(HTTPExchange.Failure) -> [UInt8] {
        var bytes: [UInt8] = []
        while let part = try await next() {
            guard bytes.count + part.readableBytes <= limit else {
                throw HTTPExchange.Failure(sent: true, underlying: HTTPExchange.TooLarge(limit: limit))
            }
            bytes += part.readableBytesView
        }
        return bytes
    }

    /// Lifts the answer deadline: a watch, once established, runs as long as it is read.
    func clearDeadline() {
        timer.cancel()
    }
}
