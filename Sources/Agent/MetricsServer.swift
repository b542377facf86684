import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Prometheus text exposition on GET /metrics. Lags are refreshed per scrape.
struct MetricsServer: Service {
    let core: AgentCore

    func run() async throws {
        guard let address = core.config.node.metrics else {
            // Disabled: stay up like every service, or the group would stop the agent.
            try? await gracefulShutdown()
            return
        }
        let core = self.core
        let server = try await Self.listening(on: "\(address)", hint: "set [node] metrics to a free address, or \"\" to turn metrics off") {
          try await ServerBootstrap(group: core.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(core: core))
                }
            }
            .bind(host: address.host, port: address.port).get()
        }
        core.logger.notice("serving metrics", metadata: ["address": "\(address)"])
        try? await gracefulShutdown()
        try await server.close()
    }
}

final class MetricsHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let core: AgentCore

    init(core: AgentCore) { self.core = core }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case let .head(request) = unwrapInboundIn(data) else { return }
        let found = request.method == .GET && (request.uri == "/metrics" || request.uri.hasPrefix("/metrics?"))
        if found { _ = try? core.status() }
        let body = found ? core.metrics.text() : "not found: try /metrics\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
