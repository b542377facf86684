import Etcd
import Foundation
import NIOSSL
import Testing
import TestSupport

/// https endpoints with client certificates, against etcd with --client-cert-auth.
@Suite(.serialized) struct EtcdTLSTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl tool.
    private struct Certificates {
        let directory: String
        var ca: String { directory + "/ca.pem" }

        init(_ directory: String) throws {
            self.directory = directory
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=barge-test-ca", "-days", "2", in: directory)
            try Self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", "other-ca.key", "-out", "other-ca.pem", "-subj", "/CN=barge-other-ca", "-days", "2", in: directory)
            for (name, names) in [("server", "IP:127.0.0.1"), ("client", "DNS:barge-client")] {
                try Self.openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                 "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)", in: directory)
                try "subjectAltName=\(names)\n".write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
                try Self.openssl("x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                                 "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext", in: directory)
            }
        }

        func context(trusting ca: String? = nil) throws -> NIOSSLContext {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca ?? self.ca))
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(directory + "/client.pem").map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: directory + "/client.key", format: .pem))
            return try NIOSSLContext(configuration: configuration)
        }

        private static func openssl(_ arguments: String..., in directory: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw EtcdCluster.Failure(description: "openssl \(arguments.joined(separator: " ")) failed")
            }
        }
    }

    @Test func httpsWithAClientCertificate() async throws {
        let certificates = try Certificates("/tmp/barge-etcdtls-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let cluster = try await EtcdCluster(label: "tls", tls: EtcdCluster.TLSFiles(
            certificate: certificates.directory + "/server.pem", key: certificates.directory + "/server.key", clientCA: certificates.ca))
        let context = try certificates.context()
        let etcd = makeClient([cluster.secureEndpoint(0)]) { $0.tls = context }
        let start = try await etcd.put(bytes("/tls/a"), [1]).revision
        #expect(try await etcd.get(bytes("/tls/a")).value?.value == [1])
        let batches = try await collect(etcd.watch(prefix: bytes("/tls/"), fromRevision: start), events: 1)
        #expect(batches.first?.events.first?.keyValue.key == bytes("/tls/a"))

        // A server certificate from a CA we do not trust: refused before anything is sent, so even a put says unavailable.
        let stranger = makeClient([cluster.secureEndpoint(0)]) { $0.tls = try? certificates.context(trusting: certificates.directory + "/other-ca.pem") }
        #expect(await etcdFailure { try await stranger.put(bytes("/tls/b"), [2]) }?.code == .unavailable)
        // https without a TLS context is a configuration error.
        let bare = makeClient([cluster.secureEndpoint(0)])
        #expect(await etcdFailure { try await bare.get(bytes("/tls/a")) }?.code == .invalidArgument)
    }
}
