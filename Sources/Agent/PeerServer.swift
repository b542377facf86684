import Identity
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Replication
import ServiceLifecycle
import Wire

/// Accepts peers on the TLS port. Each connection is its own task: a peer that
/// misbehaves loses its session and nobody else notices.
struct PeerServer: Service {
    let core: AgentCore

    func run() async throws {
        let listen = core.config.node.listen
        let context = core.identity.server
        let timeout = core.config.node.peerTimeoutSeconds, logger = core.logger
        let server = try await Self.listening(on: "\(listen)", hint: "set [node] listen to a free address") {
          try await ServerBootstrap(group: core.group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: listen.host, port: listen.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try PeerTransport.configure(channel, tls: NIOSSLServerHandler(context: context), timeout: timeout, logger: logger)
                }
            }
        }
        core.logger.notice("listening for peers", metadata: ["address": "\(listen)"])
        try await runUntilShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await PeerSession(core: core).serve(connection) }
                    }
                }
            }
        }
    }
}

extension Service {
    /// Binds, turning NIO's socket errors into a sentence with the address and a way out.
    static func listening<T>(on address: String, hint: String, _ bind: () async throws -> T) async throws -> T {
        do { return try await bind() } catch let error as IOError {
            let reason = error.errnoCode == EADDRINUSE ? "the address is in use (another agent, or another program?)" : "\(error)"
            throw AgentError(message: "cannot listen on \(address): \(reason); \(hint)", exitCode: 1)
        }
    }
}

/// One peer connection on the serving side: authenticate, then answer offers.
struct PeerSession {
    let core: AgentCore
    /// How long a failed reception keeps reading after its error frame: the
    /// owner has at most `maxOutstandingBlobs` blobs to send before it reads it.
    static let lingerTime = TimeAmount.seconds(30)

    func serve(_ connection: NIOAsyncChannel<ReceivedFrame, ByteBuffer>) async {
        let remote = connection.channel.remoteAddress.map { "\($0)" } ?? "?"
        var logger = core.logger
        logger[metadataKey: "remote"] = "\(remote)"
        do {
            try await connection.executeThenClose { inbound, outbound in
                let channel = PeerChannel(inbound: inbound, outbound: outbound) { [raw = connection.channel] in raw.close(promise: nil) }
                do {
                    try await session(channel, connection.channel, logger: &logger)
                } catch let error as ReplicationError {
                    if case let .local(wire) = error { await channel.fail(wire) }
                    throw error
                } catch let error as WireError {
                    // A frame that did not decode: say why, then close.
                    await channel.fail(error)
                    throw error
                }
            }
        } catch is PeerChannelClosed {
            logger.debug("peer closed the session")
        } catch is CancellationError {
            logger.notice("peer session cut short by shutdown; what was verified is kept")
        } catch let error as NIOSSLError {
            core.metrics.error("tls")
            logger.warning("refused a connection: TLS handshake failed: \(error)")
        } catch {
            core.metrics.error("peer_session")
            logger.warning("peer session ended: \(error)")
        }
    }

    private func session(_ channel: PeerChannel, _ raw: any Channel, logger: inout Logger) async throws {
        // The first frame arrives only after the handshake, so the certificate is known by then.
        let first = try await channel.receive()
        let name = try await raw.eventLoop.submit {
            try raw.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate.flatMap { try TLSIdentity.name(of: $0) }
        }.get()
        guard let name, core.config.peer(named: name) != nil else {
            core.metrics.error("unauthorized")
            logger.warning("refused a peer that is not configured", metadata: ["certificate_name": "\(name ?? "none")"])
            throw ReplicationError.fail(.unauthorized, "\(name ?? "a nameless certificate") is not a configured peer of \(core.node)")
        }
        logger[metadataKey: "peer"] = "\(name)"
        guard case let .hello(version, node) = first, node == name else {
            throw ReplicationError.fail(.unauthorized, "the session must start with hello from \(name)")
        }
        guard version == WireLimits.protocolVersion else {
            throw ReplicationError.fail(.unsupportedVersion, "protocol \(version) is not supported; \(core.node) speaks \(WireLimits.protocolVersion)")
        }
        try await channel.send(.hello(version: WireLimits.protocolVersion, node: core.node))
        let policy = ReplicaPolicy(node: core.node, config: core.config, index: core.store.index, logger: logger)
        let receiver = SnapshotReceiver(store: core.store, node: core.node, peer: name, policy: policy)
        receiver.onTransfer = { [core] target, arrivals in core.beginEarlyStandby(target, arrivals: arrivals) }
        while true {
            let message: Message
            do { message = try await channel.expectMessage() } catch is PeerChannelClosed { return }
            switch message {
            case let .listSnapshots(volume):
                try await core.answerList(volume, on: channel)
                continue
            case let .fetch(volume, snapshot):
                try await core.answerFetch(volume, snapshot: snapshot, to: name, on: channel)
                continue
            default: break
            }
            guard case let .offer(volume, _, epoch, owner, _) = message else {
                try await channel.send(try await HandoverHandler(core: core, peer: name).answer(message))
                continue
            }
            // A higher epoch from the owner it names fences this node first, if it thought it owned the volume.
            if owner == name, let settings = core.config.volume(named: volume), let known = try? core.ownership(volume),
               known.owner == core.node, epoch > known.epoch {
                try await core.locks.withLock(volume) { try await core.fence(settings, owner: owner, epoch: epoch) }
            }
            let before = channel.bytesReceived
            let outcome: ReceiveOutcome
            do {
                outcome = try await core.receive(message, of: volume, from: name, with: receiver, on: channel)
            } catch is PeerChannelClosed {
                logger.warning("the transfer ended early (the peer went away, or this node cut it off to take the volume over); what was verified is kept for the next attempt",
                               metadata: ["volume": "\(volume)"])
                return
            } catch ReplicationError.local(let wire) {
                // Blobs may still be on their way: say why, and let the owner read it before the close.
                core.noteError(volume, "receiving from \(name) failed: \(ReplicationError.local(wire))")
                await channel.fail(wire)
                let deadline = raw.eventLoop.scheduleTask(in: Self.lingerTime) { raw.close(promise: nil) }
                await channel.drainUntilClosed()
                deadline.cancel()
                throw ReplicationError.local(wire)
            }
            core.metrics.received(volume: volume, peer: name, bytes: channel.bytesReceived - before)
            logger.info("snapshot received", metadata: ["volume": "\(volume)", "snapshot": "\(outcome.snapshot.short)",
                                                        "blobs": "\(outcome.blobsReceived)", "already_had": "\(outcome.alreadyHad)",
                                                        "seconds": "\(outcome.seconds)"])
            await core.standby.schedule(volume, core: core)
        }
    }
}
