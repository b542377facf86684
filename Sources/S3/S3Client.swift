import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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
        public init(attempts: Int = 6, firstDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(5),
                    requestTimeout: Duration = .seconds(300)) {
            self.attempts = attempts
            self.firstDelay = firstDelay
            self.maximumDelay = maximumDelay
            self.requestTimeout = requestTimeout
        }
    }

    public init(endpoint: S3Endpoint, region: String, bucket: String, credentials: S3Credentials,
                retry: RetryPolicy = RetryPolicy(), http: HTTPClient = .shared) throws(S3Error) {
        guard S3Client.isValidBucketName(bucket) else {
            throw S3Error(.invalidBucket, "bucket name \"\(bucket)\" is not a valid S3 bucket name (3-63 of a-z 0-9 . -)")
        }
        self.endpoint = endpoint
        self.bucket = bucket
        self.signer = .s3(credentials: credentials, region: region)
        self.http = http
        self.retry = retry
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
            do {
                let response = try await once(method, key: key, query: query, headers: extra, body: body, maxResponse: maxResponse)
                if accepted.contains(response.status) { return (response, attempt > 1) }
                let failure = S3Client.failure(of: response, method: method, key: key)
                guard failure.isTransient, attempt < retry.attempts else { throw failure }
            } catch let error as S3Error where !error.isTransient || attempt >= retry.attempts {
                throw error
            } catch {
                // Transient: wait and go again.
            }
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
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let timeout = TimeAmount.nanoseconds(Int64(retry.requestTimeout.components.seconds) * 1_000_000_000)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw S3Error(.transport, "\(method.rawValue) \(path) on \(endpoint.base) failed", underlying: error)
        }
        var bytes: [UInt8] = []
        if method != .HEAD {
            do {
                var buffer = try await response.body.collect(upTo: maxResponse)
                bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            } catch let error as NIOTooManyBytesError {
                throw S3Error(.responseTooLarge, "\(method.rawValue) \(path): the answer is larger than \(maxResponse) bytes", underlying: error)
            } catch {
                throw S3Error(.transport, "\(method.rawValue) \(path): reading the answer failed", underlying: error)
            }
        }
        return Response(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: bytes)
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
