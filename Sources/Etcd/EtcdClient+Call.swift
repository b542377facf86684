import Foundation
import NIOCore
import NIOHTTP1

/// How one attempt on one endpoint ended, when it did not return an answer.
enum AttemptError: Error {
    /// This endpoint did not serve the request, and trying another is safe.
    case moveOn(any Error)
    /// The call ends with this error.
    case fail(EtcdError)
    /// The token was refused: authenticate again, then retry on the same endpoint.
    case reauthenticate
}

extension EtcdClient {
    /// The shortest share of the remaining time an attempt gets, so that with
    /// many endpoints the first one is not given up on too early.
    static let minimumAttempt = TimeAmount.milliseconds(300)
    /// The pause before another pass over the endpoints while the cluster elects a leader.
    static let retryPause = TimeAmount.milliseconds(200)

    /// Runs `attempt` on the endpoints in turn until one answers, within one
    /// deadline. Each endpoint but the last gets a share of the remaining time;
    /// a request that is not idempotent may use the rest of the deadline once
    /// sent, because it is not retried elsewhere.
    func withFailover<T: Sendable>(
        what: String, idempotent: Bool, deadline: NIODeadline, only pinned: Endpoint? = nil,
        _ attempt: (Endpoint, _ connectBy: NIODeadline, _ answerBy: NIODeadline) async throws(AttemptError) -> T
    ) async throws(EtcdError) -> T {
        var candidates = pinned.map { [$0] } ?? state.withLock { $0.candidates }
        guard !candidates.isEmpty else {
            throw EtcdError(.unavailable, "\(what): no endpoint to try (\(state.withLock { $0.whyNone }))")
        }
        var lastFailure: (any Error)?
        var index = 0
        var reauthenticated = false
        // Set when a member answered "unavailable" (no leader yet): worth another pass if time remains.
        var transient = false
        while true {
            if index == candidates.count {
                let remaining = deadline - .now()
                guard transient, remaining > Self.retryPause else { break }
                try? await Task.sleep(for: .nanoseconds(Self.retryPause.nanoseconds))
                candidates = pinned.map { [$0] } ?? state.withLock { $0.candidates }
                index = 0
                transient = false
                continue
            }
            if Task.isCancelled { throw EtcdError(.cancelled, "\(what) was cancelled") }
            let endpoint = candidates[index]
            let now = NIODeadline.now()
            guard now < deadline else { break }
            let remaining = deadline - now
            let share = TimeAmount.nanoseconds(remaining.nanoseconds / Int64(candidates.count - index))
            let attemptEnd = now + max(share, min(remaining, Self.minimumAttempt))
            do throws(AttemptError) {
                let answer = try await attempt(endpoint, attemptEnd, idempotent ? attemptEnd : deadline)
                state.withLock { $0.answered(by: endpoint) }
                return answer
            } catch {
                switch error {
                case let .fail(failure):
                    throw failure
                case .reauthenticate where !reauthenticated:
                    reauthenticated = true
                    state.withLock { $0.token = nil }
                    continue
                case .reauthenticate:
                    throw EtcdError(.unauthenticated, "\(what): \(endpoint) refused a fresh token")
                case let .moveOn(cause):
                    lastFailure = cause
                    if let etcd = cause as? EtcdError, etcd.code == .rejected { transient = true }
                    state.withLock { $0.failed(endpoint) }
                    index += 1
                }
            }
        }
        if Task.isCancelled { throw EtcdError(.cancelled, "\(what) was cancelled") }
        if pinned == nil { state.withLock { $0.allFailed() } }
        if NIODeadline.now() >= deadline {
            throw EtcdError(.timeout, "\(what): no answer within \(configuration.requestTimeout)", underlying: lastFailure)
        }
        let tried = candidates.map(\.description).joined(separator: ", ")
        throw EtcdError(.unavailable, "\(what): no endpoint answered (\(tried))", underlying: lastFailure)
    }

    /// One request-response call with failover, auth and the cluster check.
    func unary<Response: GatewayResponse>(
        _ path: String, _ request: some Encodable, as type: Response.Type, idempotent: Bool,
        deadline: NIODeadline? = nil, only pinned: Endpoint? = nil, refreshMembers: Bool = true
    ) async throws(EtcdError) -> Response {
        let body: [UInt8]
        do {
            body = Array(try JSONEncoder().encode(request))
        } catch {
            throw EtcdError(.invalidArgument, "cannot encode the \(path) request", underlying: error)
        }
        let deadline = deadline ?? .now() + TimeAmount(configuration.requestTimeout)
        let response = try await withFailover(what: path, idempotent: idempotent, deadline: deadline, only: pinned) {
            endpoint, connectBy, answerBy throws(AttemptError) in
            let token = try await token(on: endpoint, connectBy: connectBy, answerBy: answerBy)
            return try await send(path, body, to: endpoint, token: token, idempotent: idempotent,
                                  connectBy: connectBy, answerBy: answerBy, as: Response.self)
        }
        if refreshMembers && state.withLock({ $0.claimRefresh() }) {
            // Keep the endpoint list current; a failure here does not fail the call.
            _ = try? await members(deadline: deadline)
        }
        return response
    }

    /// The token to send, authenticating on `endpoint` first if there is none.
    /// "" means auth is off on the cluster.
    func token(on endpoint: Endpoint, connectBy: NIODeadline, answerBy: NIODeadline) async throws(AttemptError) -> String? {
        guard let credentials = configuration.credentials else { return nil }
        if let token = state.withLock({ $0.token }) { return token }
        let request = AuthenticateRequest(name: credentials.user, password: credentials.password)
        let body = (try? JSONEncoder().encode(request)).map { Array($0) } ?? []
        let token: String
        do throws(AttemptError) {
            let response = try await send("/v3/auth/authenticate", body, to: endpoint, token: nil, idempotent: true,
                                          connectBy: connectBy, answerBy: answerBy, as: AuthenticateResponse.self)
            guard let issued = response.token, !issued.isEmpty else {
                throw AttemptError.fail(EtcdError(.badResponse, "\(endpoint) authenticated without a token"))
            }
            token = issued
        } catch {
            guard case let .fail(failure) = error, failure.code == .rejected else { throw error }
            if failure.message.contains("authentication is not enabled") {
                token = ""
            } else {
                throw .fail(EtcdError(.unauthenticated, "etcd refused user \(credentials.user): \(failure.message)",
                                      gatewayCode: failure.gatewayCode))
            }
        }
        state.withLock { $0.token = token }
        return token
    }

    /// Posts `body` to one endpoint and decodes the answer, checking its cluster id.
    func send<Response: GatewayResponse>(
        _ path: String, _ body: [UInt8], to endpoint: Endpoint, token: String?, idempotent: Bool,
        connectBy: NIODeadline, answerBy: NIODeadline, as type: Response.Type
    ) async throws(AttemptError) -> Response {
        let limit = configuration.maxResponseBytes
        let status: HTTPResponseStatus, bytes: [UInt8]
        do {
            (status, bytes) = try await exchange.post(
                to: endpoint, path: path, body: body, authorization: token.flatMap { $0.isEmpty ? nil : $0 },
                connectBy: connectBy, answerBy: answerBy
            ) { head, body in
                if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > limit {
                    throw HTTPExchange.Failure(sent: true, underlying: HTTPExchange.TooLarge(limit: limit))
                }
                return (head.status, try await body.collect(limit: limit))
            }
        } catch {
            throw classify(error, endpoint: endpoint, path: path, idempotent: idempotent)
        }
        let decoder = JSONDecoder()
        guard status == .ok else {
            guard let failure = try? decoder.decode(GatewayErrorBody.self, from: Data(bytes)) else {
                throw .fail(EtcdError(.badResponse, "\(endpoint)\(path) answered HTTP \(status.code) without an error body"))
            }
            throw gatewayFailure(failure, endpoint: endpoint, path: path, idempotent: idempotent)
        }
        let response: Response
        do {
            response = try decoder.decode(Response.self, from: Data(bytes))
        } catch {
            throw .fail(EtcdError(.badResponse, "\(endpoint)\(path) answered with JSON that does not decode", underlying: error))
        }
        if let failure = response.streamError {
            throw gatewayFailure(failure, endpoint: endpoint, path: path, idempotent: idempotent)
        }
        try admit(response.header, from: endpoint, path: path)
        return response
    }

    /// Refuses an answer from another cluster than the first answer's, and the endpoint with it.
    func admit(_ header: ResponseHeader?, from endpoint: Endpoint, path: String) throws(AttemptError) {
        guard let answered = header?.clusterID?.value, answered != 0 else {
            throw .fail(EtcdError(.badResponse, "\(endpoint)\(path) answered without a cluster id"))
        }
        let known = state.withLock { state in state.admit(clusterID: answered, from: endpoint) ? nil : state.clusterID }
        if let known {
            throw .fail(EtcdError(.clusterMismatch, "\(endpoint) answered for cluster \(String(answered, radix: 16)), not \(String(known, radix: 16)); it is no longer used"))
        }
    }

    /// What a transport failure means for the call.
    func classify(_ error: any Error, endpoint: Endpoint, path: String, idempotent: Bool) -> AttemptError {
        if let error = error as? AttemptError { return error }
        guard let failure = error as? HTTPExchange.Failure else { return .moveOn(error) }
        if let etcd = failure.underlying as? EtcdError { return .fail(etcd) }
        if let tooLarge = failure.underlying as? HTTPExchange.TooLarge {
            return .fail(EtcdError(.badResponse, "\(endpoint)\(path) answered with more than \(tooLarge.limit) bytes"))
        }
        if failure.sent && !idempotent {
            // It may have been applied: retrying elsewhere could apply it twice, so the caller decides.
            return .fail(EtcdError(.timeout, "\(endpoint)\(path) gave no answer to a sent request; it may or may not have been applied",
                                   underlying: failure.underlying))
        }
        return .moveOn(failure.underlying)
    }

    /// What the gateway's error JSON means for the call.
    func gatewayFailure(_ body: GatewayErrorBody, endpoint: Endpoint, path: String, idempotent: Bool) -> AttemptError {
        let message = body.message ?? "no message"
        let code = body.code ?? 2
        let failure = EtcdError(.rejected, "\(endpoint)\(path): \(message)", gatewayCode: code)
        let authenticating = configuration.credentials != nil
        switch code {
        case 16 where authenticating:
            return .reauthenticate
        case 16:
            return .fail(EtcdError(.unauthenticated, failure.message, gatewayCode: code))
        case 3 where message.contains("user name is empty"):
            // Auth was turned on after this client saw it off.
            if authenticating { return .reauthenticate }
            return .fail(EtcdError(.unauthenticated, "\(failure.message) (auth is on and no credentials are configured)", gatewayCode: code))
        case 4, 14:
            // Unavailable or deadline exceeded: no leader, leader changed, request timed out.
            if idempotent { return .moveOn(failure) }
            return .fail(EtcdError(.timeout, "\(failure.message); the request may or may not have been applied", gatewayCode: code))
        default:
            return .fail(failure)
        }
    }
}
