import AgentConfig
import NIOCore
import NIOPosix
import NIOSSL
import Replication
import Wire

/// Opens a mutual-TLS session to a configured peer. The peer must present a
/// certificate from our CA with its configured name, and answer our hello.
struct PeerDialer {
    let core: AgentCore
    static let connectTimeout = TimeAmount.seconds(10)

    func withSession<T: Sendable>(to peer: PeerSettings, _ body: (PeerChannel) async throws -> T) async throws -> T {
        let context = core.identity.client
        let timeout = core.config.node.peerTimeoutSeconds, logger = core.logger
        let channel = try await ClientBootstrap(group: core.group)
            .connectTimeout(Self.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: peer.address.host, port: peer.address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try PeerTransport.configure(channel, tls: try NIOSSLClientHandler(context: context, serverHostname: peer.name),
                                                timeout: timeout, logger: logger)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            let session = PeerChannel(inbound: inbound, outbound: outbound) { [raw = channel.channel] in raw.close(promise: nil) }
            try await session.send(.hello(version: WireLimits.protocolVersion, node: core.node))
            guard case let .hello(version, node) = try await session.expectMessage() else {
                throw ReplicationError.fail(.unexpectedMessage, "\(peer.name) did not answer with hello")
            }
            guard version == WireLimits.protocolVersion, node == peer.name else {
                throw ReplicationError.fail(.unsupportedVersion, "\(peer.name) answered as \(node) with protocol \(version)")
            }
            do {
                return try await body(session)
            } catch let error as ReplicationError {
                if case let .local(wire) = error { await session.fail(wire) }
                throw error
            }
        }
    }
}
