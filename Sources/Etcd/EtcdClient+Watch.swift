import Foundation
import NIOCore
import NIOHTTP1

extension EtcdClient {
    /// Batches a consumer may fall behind by before its watch ends with `.overflow`.
    static let watchBufferLimit = 4096

    /// Watches every key starting with `prefix` from `fromRevision` (0: from now).
    ///
    /// The stream runs until the consumer stops iterating (which closes the
    /// connection) or fails. It never ends without an error: a dropped
    /// connection, a member that fails its liveness probe, a cancel by etcd all
    /// end it with an `EtcdError`, and the caller re-watches from the last seen
    /// revision + 1. `.compacted` means that revision is gone; read the current
    /// state afresh instead.
    public func watch(prefix: [UInt8], fromRevision: Int64) -> AsyncThrowingStream<EtcdWatchBatch, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: EtcdWatchBatch.self, throwing: (any Error).self, bufferingPolicy: .bufferingOldest(Self.watchBufferLimit))
        let request = WatchRequest(createRequest: WatchCreateRequest(
            key: ProtoBytes(prefix), rangeEnd: ProtoBytes(EtcdKey.prefixEnd(prefix)),
            startRevision: fromRevision > 0 ? ProtoInt64(fromRevision) : nil))
        // The stream API hands work to a task; it lives exactly as long as the stream is iterated.
        let task = Task {
            do throws(EtcdError) {
                try await runWatch(request, probeKey: prefix, into: continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Opens the watch on the first endpoint that serves it, then reads it
    /// until it fails. Returns only when the consumer has gone.
    private func runWatch(_ request: WatchRequest, probeKey: [UInt8],
                          into continuation: AsyncThrowingStream<EtcdWatchBatch, any Error>.Continuation) async throws(EtcdError) {
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(request))
        } catch {
            throw EtcdError(.invalidArgument, "cannot encode the watch request", underlying: error)
        }
        let deadline = NIODeadline.now() + TimeAmount(configuration.requestTimeout)
        try await withFailover(what: "/v3/watch", idempotent: true, deadline: deadline) {
            endpoint, connectBy, answerBy throws(AttemptError) in
            let token = try await token(on: endpoint, connectBy: connectBy, answerBy: answerBy)
            do {
                try await exchange.post(to: endpoint, path: "/v3/watch", body: body, authorization: token.flatMap { $0.isEmpty ? nil : $0 },
                                        connectBy: connectBy, answerBy: answerBy) { head, responseBody in
                    try await read(head, &responseBody, from: endpoint, probeKey: probeKey, into: continuation)
                }
            } catch {
                throw classify(error, endpoint: endpoint, path: "/v3/watch", idempotent: true)
            }
        }
    }

    /// Reads the watch responses. Until the watch is created, failures let the
    /// caller try another endpoint; after that, every end is final.
    private func read(_ head: HTTPResponseHead, _ body: inout ResponseBody, from endpoint: Endpoint, probeKey: [UInt8],
                      into continuation: AsyncThrowingStream<EtcdWatchBatch, any Error>.Continuation) async throws(AttemptError) {
        let limit = configuration.maxResponseBytes
        guard head.status == .ok else {
            let bytes: [UInt8]
            do { bytes = try await body.collect(limit: limit) } catch { throw classify(error, endpoint: endpoint, path: "/v3/watch", idempotent: true) }
            guard let failure = try? JSONDecoder().decode(GatewayErrorBody.self, from: Data(bytes)) else {
                throw .fail(EtcdError(.badResponse, "\(endpoint)/v3/watch answered HTTP \(head.status.code) without an error body"))
            }
            throw gatewayFailure(failure, endpoint: endpoint, path: "/v3/watch", idempotent: true)
        }
        var framer = JSONStreamFramer(maxObjectBytes: limit)
        var messages = WatchMessages(endpoint: endpoint)
        // Before the created message, the answer deadline runs; no probe yet.
        do throws(AttemptError) {
            while !messages.created {
                guard let part = try await nextPart(&body, endpoint: endpoint, established: false) else {
                    throw .moveOn(EtcdError(.unavailable, "\(endpoint) ended the watch before creating it"))
                }
                framer.append(part.readableBytesView)
                if try await deliver(&framer, &messages, into: continuation) == .consumerGone { return }
            }
        } catch {
            // Opening again elsewhere would deliver the first events twice.
            throw messages.delivered ? settled(error, endpoint: endpoint) : error
        }
        body.clearDeadline()
        let channel = body.channel
        // The probe runs beside the reader; failing, it closes the connection so the reader stops too.
        let ending: AttemptError? = await withTaskGroup(of: EtcdError?.self) { group in
            group.addTask { await self.probe(endpoint, key: probeKey, closing: channel) }
            var ended: AttemptError? = .fail(EtcdError(.unavailable, "\(endpoint) ended the watch stream"))
            do throws(AttemptError) {
                while let part = try await nextPart(&body, endpoint: endpoint, established: true) {
                    framer.append(part.readableBytesView)
                    if try await deliver(&framer, &messages, into: continuation) == .consumerGone {
                        ended = nil
                        break
                    }
                }
            } catch {
                ended = settled(error, endpoint: endpoint)
            }
            group.cancelAll()
            // A probe failure explains a closed connection better than the closing itself.
            for await case let probeFailure? in group { return .fail(probeFailure) }
            return ended
        }
        if let ending { throw ending }
    }

    private enum Delivery { case more, consumerGone }

    /// Decodes every complete message in the framer and yields its events.
    private func deliver(_ framer: inout JSONStreamFramer, _ messages: inout WatchMessages,
                         into continuation: AsyncThrowingStream<EtcdWatchBatch, any Error>.Continuation) async throws(AttemptError) -> Delivery {
        while true {
            let object: [UInt8]?
            do {
                object = try framer.next()
            } catch {
                throw .fail(EtcdError(.badResponse, "\(messages.endpoint)/v3/watch sent a malformed stream: \(error)"))
            }
            guard let object else { return .more }
            let envelope = try messages.decode(object)
            if let failure = envelope.error {
                throw gatewayFailure(failure, endpoint: messages.endpoint, path: "/v3/watch", idempotent: true)
            }
            guard let response = envelope.result else {
                throw .fail(EtcdError(.badResponse, "\(messages.endpoint)/v3/watch sent a message without a result"))
            }
            try admit(response.header, from: messages.endpoint, path: "/v3/watch")
            if let failure = messages.check(response, authenticating: configuration.credentials != nil) { throw failure }
            guard let batch = try messages.batch(response) else { continue }
            messages.delivered = true
            switch continuation.yield(batch) {
            case .enqueued: continue
            case .dropped:
                throw .fail(EtcdError(.overflow, "the watch consumer fell \(Self.watchBufferLimit) batches behind"))
            case .terminated: return .consumerGone
            @unknown default: return .consumerGone
            }
        }
    }

    /// An established watch is never retried by `withFailover` (that would
    /// deliver events twice, and its deadline is long past): every end is final.
    private func settled(_ error: AttemptError, endpoint: Endpoint) -> AttemptError {
        switch error {
        case .fail: error
        case let .moveOn(cause): .fail(EtcdError(.unavailable, "the watch on \(endpoint) ended", underlying: cause))
        case .reauthenticate: .fail(EtcdError(.unauthenticated, "\(endpoint) no longer accepts the watch's token"))
        }
    }

    private func nextPart(_ body: inout ResponseBody, endpoint: Endpoint, established: Bool) async throws(AttemptError) -> ByteBuffer? {
        do {
            return try await body.next()
        } catch {
            if Task.isCancelled { throw .fail(EtcdError(.cancelled, "the watch was cancelled")) }
            if !established { throw classify(error, endpoint: endpoint, path: "/v3/watch", idempotent: true) }
            throw .fail(EtcdError(.unavailable, "the watch connection to \(endpoint) was lost", underlying: error.underlying))
        }
    }

    /// Every `watchProbeInterval`, a quorum read on the watch's endpoint; on
    /// failure closes the watch's connection and returns why. Returns nil when cancelled.
    private func probe(_ endpoint: Endpoint, key: [UInt8], closing channel: any Channel) async -> EtcdError? {
        let request = RangeRequest(key: ProtoBytes(key), limit: ProtoInt64(1), keysOnly: true)
        while true {
            do {
                try await Task.sleep(for: configuration.watchProbeInterval)
            } catch {
                return nil
            }
            do throws(EtcdError) {
                _ = try await unary("/v3/kv/range", request, as: RangeResponse.self, idempotent: true, only: endpoint, refreshMembers: false)
            } catch {
                if Task.isCancelled { return nil }
                channel.close(promise: nil)
                return EtcdError(.unavailable, "the watch's member \(endpoint) failed its liveness probe", underlying: error)
            }
        }
    }
}
