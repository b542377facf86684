import Foundation
@testable import S3
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How the client fails when the server is not there: with the cause in words and the
/// number of attempts, within its timeouts (a library default waited 90 s per connect).
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

    @Test func aRefusedConnectionFailsAfterItsAttemptsNamingTheCause() async throws {
        let endpoint = try S3Endpoint("http://127.0.0.1:\(try Self.closedPort())")
        let client = try S3Client(endpoint: endpoint, region: "us-east-1", bucket: "nobody-home",
                                  credentials: S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"),
                                  retry: .init(attempts: 3, firstDelay: .milliseconds(50), idleTimeout: .seconds(1)))
        let started = ContinuousClock.now
        do {
            _ = try await client.get("config", maxLength: 1024)
            Issue.record("a GET from a closed port returned")
        } catch {
            #expect(error.code == .transport, "\(error)")
            #expect(error.message == "GET /nobody-home/config on \(endpoint.base): Connection refused (3 attempts)", "\(error)")
        }
        let took = ContinuousClock.now - started
        #expect(took < .seconds(10), "three attempts within their 1 s connect timeouts and 0.15 s of backoff: \(took)")
    }

    @Test(arguments: [(idle: 1, connect: 1), (idle: 30, connect: 10), (idle: 600, connect: 10)])
    func theConnectTimeoutIsTheIdleTimeoutUpToTenSeconds(_ pair: (idle: Int, connect: Int)) {
        #expect(S3Client.connectTimeout(.seconds(pair.idle)) == .seconds(pair.connect))
    }
}
