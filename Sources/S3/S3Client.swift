import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The object calls barge makes on one bucket, path-style, signed with Signature Version 4.
/// Every response body is read up to a bound the caller gives; transient failures
/// (connection errors, 5xx, 429, SlowDown) are retried with exponential backoff.
public final class S3Client: Sendable {
    public let endpoint: S3Endpoint
    public let bucket: String
    private let signer: SigV4Signer
    private let http: HTTPClient
    private let retry: RetryPolicy

    public struct RetryPolicy: Sendable {
        public var attempts: Int
        public var firstDelay: Duration
        public var maximumDelay: Duration
        public var requestTimeout: Duration
        /// How long a connection may stay silent (no connect, no byte read or written)
        /// before the attempt fails and is retried: a cut network ends in an error, not a hang.
        public var idleTimeout: Duration
        /// Told of each failure that will be retried: the failure, the next attempt's number,
        /// the number of attempts, the wait before it. Retries are otherwise silent.
        public var onRetry: (@Sendable (_ failure: S3Error, _ next: Int, _ of: Int, _ after: Duration) -> Void)?
        public init(attempts: Int = 6, firstDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(5),
                    requestTimeout: Duration = .seconds(300), idleTimeout: Duration = .seconds(30),
                    onRetry: (@Sendable (_ failure: S3Error, _ next: Int, _ of: Int, _ after: Duration) -> Void)? = nil) {
            self.attempts = attempts
            self.firstDelay = firstDelay
            self.maximumDelay = maximumDelay
            self.requestTimeout = requestTimeout
            self.idleTimeout = idleTimeout
            self.onRetry = onRetry
        }
    }

    /// `http` nil: a process-wide client for `retry.idleTimeout` (see `httpClient(idleTimeout:)`).
    public init(endpoint: S3Endpoint, region: String, bucket: String, credentials: S3Credentials,
                retry: RetryPolicy = RetryPolicy(), http: HTTPClient? = nil) throws(S3Error) {
        guard S3Client.isValidBucketName(bucket) else {
            throw S3Error(.invalidBucket, "bucket name \"\(bucket)\" is not a valid S3 bucket name (3-63 of a-z 0-9 . -)")
        }
        self.endpoint = endpoint
        self.bucket = bucket
        self.signer = .s3(credentials: credentials, region: region)
        self.http = http ?? S3Client.httpClient(idleTimeout: retry.idleTimeout)
        self.retry = retry
    }

    private static let clients = Mutex<[Duration: HTTPClient]>([:])

    /// The HTTP client retries a refused connection until this passes, so it is kept short.
    static func connectTimeout(_ idleTimeout: Duration) -> Duration { min(idleTimeout, .seconds(10)) }

    /// One client per idle timeout, kept for the life of the process like `HTTPClient.shared`
    /// (nothing to shut down). Unlike it: no redirects (a signed request goes to its endpoint
    /// only), no transparent decompression (objects are read as stored), read and write each
    /// bounded by the idle timeout and connect by `connectTimeout`, instead of 90 s per step.
    static func httpClient(idleTimeout: Duration) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[idleTimeout] { return client }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration(idleTimeout: idleTimeout))
            clients[idleTimeout] = client
            return client
        }
    }

    static func httpConfiguration(idleTimeout: Duration) -> HTTPClient.Configuration {
        let idle = TimeAmount(idleTimeout)
        return HTTPClient.Configuration(certificateVerification: .fullVerification, redirectConfiguration: .disallow,
                                        timeout: .init(connect: TimeAmount(connectTimeout(idleTimeout)), read: idle, write: idle),
                                        decompression: .disabled)
    }

    static func isValidBucketName(_ name: String) -> Bool {
        (3...63).contains(name.utf8.count) && name.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }

    public struct Response: Sendable {
        public let status: Int
        public let headers: [(name: String, value: String)]
        public let body: [UInt8]
        public func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
        }
    }

    /// One request with retries. `key` nil addresses the bucket itself. A response with a
    /// status in `accepted` is returned; any other becomes an `S3Error` carrying S3's code.
    /// `retriedOutcome` is told whether an earlier attempt may already have reached the server.
    public func send(_ method: HTTPMethod, key: String?, query: [(name: String, value: String)] = [],
                     headers extra: [(name: String, value: String)] = [], body: [UInt8] = [],
                     accepted: Set<Int> = [200], maxResponse: Int = 1 << 20) async throws(S3Error) -> (Response, retried: Bool) {
        var delay = retry.firstDelay
        var attempt = 1
        while true {
            let failure: S3Error
            do {
                let response = try await once(method, key: key, query: query, headers: extra, body: body, maxResponse: maxResponse)
                if accepted.contains(response.status) { return (response, attempt > 1) }
                failure = S3Client.failure(of: response, method: method, key: key)
            } catch let error as S3Error {
                failure = error
            } catch {
                failure = S3Error(.transport, "\(method.rawValue) \(key ?? "bucket") on \(endpoint.base): \(error)", underlying: error)
            }
            guard failure.isTransient, !Task.isCancelled else { throw failure }
            guard attempt < retry.attempts else {
                guard failure.code == .transport else { throw failure }
                throw S3Error(.transport, failure.message + " (\(attempt) attempts)", underlying: failure.underlying)
            }
            retry.onRetry?(failure, attempt + 1, retry.attempts, delay)
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, retry.maximumDelay)
            attempt += 1
        }
    }

    private func once(_ method: HTTPMethod, key: String?, query: [(name: String, value: String)],
                      headers extra: [(name: String, value: String)], body: [UInt8], maxResponse: Int) async throws -> Response {
        let path = "/" + bucket + (key.map { "/" + $0 } ?? "")
        let payloadHash = SigV4Signer.payloadHash(of: body)
        var headers = [(name: "Host", value: endpoint.hostHeader)] + extra
        let signable = SignableRequest(method: method.rawValue, path: path, queryItems: query, headers: headers,
                                       payloadHash: payloadHash)
        headers += try signer.sign(signable, at: Date()).headersToSend
        let encodedQuery = URIEncoding.canonicalQuery(query)
        var request = HTTPClientRequest(url: endpoint.base + URIEncoding.canonicalPath(path, normalizing: false)
                                        + (encodedQuery.isEmpty ? "" : "?" + encodedQuery))
        request.method = method
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        if !body.isEmpty || method == .PUT || method == .POST {
            request.body = .bytes(body)   // sent in 4 MiB pieces, not copied whole
        }
        let timeout = TimeAmount(retry.requestTimeout)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw S3Error(.transport, "\(method.rawValue) \(path) on \(endpoint.base): \(reason(error))", underlying: error)
        }
        var bytes: [UInt8] = []
        if method != .HEAD {
            let tooLarge = S3Error(.responseTooLarge, "\(method.rawValue) \(path): the answer is larger than \(maxResponse) bytes")
            if let declared = response.headers.first(name: "content-length").flatMap({ Int($0) }) {
                guard declared <= maxResponse else { throw tooLarge }
                bytes.reserveCapacity(declared)   // one allocation of the announced size: no growth, no second copy
            }
            do {
                for try await part in response.body {
                    guard part.readableBytes <= maxResponse - bytes.count else { throw tooLarge }
                    bytes.append(contentsOf: part.readableBytesView)
                }
            } catch let error as S3Error {
                throw error
            } catch {
                throw S3Error(.transport, "\(method.rawValue) \(path) on \(endpoint.base): reading the answer: \(reason(error))",
                              underlying: error)
            }
        }
        return Response(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: bytes)
    }

    /// What went wrong on the way, in words (the error itself stays the underlying one).
    private func reason(_ error: any Error) -> String {
        switch error as? HTTPClientError {
        case .connectTimeout?: "no connection within \(Self.connectTimeout(retry.idleTimeout))"
        case .readTimeout?: "no answer for \(retry.idleTimeout)"
        case .writeTimeout?: "the request could not be sent for \(retry.idleTimeout)"
        case .deadlineExceeded?: "no complete answer within \(retry.requestTimeout)"
        case .remoteConnectionClosed?: "the server closed the connection"
        default: (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
        }
    }

    static func failure(of response: Response, method: HTTPMethod, key: String?) -> S3Error {
        let code = S3XML.value(of: "Code", in: response.body) ?? (response.status == 404 ? "NoSuchKey" : "HTTP\(response.status)")
        let message = S3XML.value(of: "Message", in: response.body) ?? ""
        let what = "\(method.rawValue) \(key ?? "bucket")"
        return S3Error(.server, "\(what): \(response.status) \(code)\(message.isEmpty ? "" : ": " + message)",
                       status: response.status, serverCode: code)
    }
}

extension S3Error {
    /// Worth another attempt: the server or the path to it had a bad moment.
    var isTransient: Bool {
        switch code {
        case .transport: true
        case .server: (status ?? 0) >= 500 || status == 429 || serverCode == "SlowDown" || serverCode == "RequestTimeout"
        default: false
        }
    }
}
