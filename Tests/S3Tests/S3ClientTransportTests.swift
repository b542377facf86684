import AsyncHTTPClient
import Foundation
import NIOCore
@testable import S3
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How the client fails when the server is not there: with the cause in words, the number
/// of attempts, each retry told; and the timeouts it gives the HTTP library (whose defaults
/// waited 90 s per connect and per read).
@Suite struct S3ClientTransportTests {
    /// A loopback port nothing listens on: bound, then closed.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    final class Retries: @unchecked Sendable {
        private let lock = NSLock()
        private var told: [String] = []
        func add(_ line: String) { lock.withLock { told.append(line) } }
        var lines: [String] { lock.withLock { told } }
    }

    @Test func aRefusedConnectionFailsAfterItsAttemptsNamingTheCauseAndTellingEachRetry() async throws {
        let endpoint = try S3Endpoint("http://127.0.0.1:\(try Self.closedPort())")
        let retries = Retries()
        let policy = S3Client.RetryPolicy(attempts: 3, firstDelay: .milliseconds(50), idleTimeout: .seconds(1)) { failure, next, attempts, delay in
            retries.add("\(failure.code) \(next)/\(attempts) after \(delay)")
        }
        let client = try S3Client(endpoint: endpoint, region: "us-east-1", bucket: "nobody-home",
                                  credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"), retry: policy)
        do {
            _ = try await client.get("config", maxLength: 1024)
            Issue.record("a GET from a closed port returned")
        } catch {
            #expect(error.code == .transport, "\(error)")
            #expect(error.message == "GET /nobody-home/config on \(endpoint.base): Connection refused (3 attempts)", "\(error)")
        }
        #expect(retries.lines == ["transport 2/3 after 0.05 seconds", "transport 3/3 after 0.1 seconds"])
    }

    /// Connect at most 10 s (the library retries a refused connection until it passes), read
    /// and write the idle timeout; no transparent decompression.
    @Test(arguments: [(idle: 1, connect: 1), (idle: 30, connect: 10), (idle: 600, connect: 10)])
    func theHTTPClientWaitsNoLongerThanTheIdleTimeout(_ pair: (idle: Int, connect: Int)) {
        let configuration = S3Client.httpConfiguration(idleTimeout: .seconds(pair.idle))
        #expect(configuration.timeout.connect == .seconds(Int64(pair.connect)))
        #expect(configuration.timeout.read == .seconds(Int64(pair.idle)) && configuration.timeout.write == .seconds(Int64(pair.idle)))
        guard case .disabled = configuration.decompression else {
            Issue.record("answers are read as stored, never decompressed on the way")
            return
        }
    }
}
