import Foundation
import NIOSSL
import X509

/// This node's certificate and key with the cluster CA, as TLS 1.3
/// configurations that require and verify a certificate on both ends.
public struct TLSIdentity: Sendable {
    public let node: String
    public let server: NIOSSLContext
    public let client: NIOSSLContext

    public init(node: String, caPath: String, certificatePath: String, keyPath: String) throws {
        self.node = node
        let chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, roots: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            roots = try NIOSSLCertificate.fromPEMFile(caPath)
        } catch {
            throw IdentityError("cannot load TLS files (\(certificatePath), \(keyPath), \(caPath)): \(error)",
                                hint: "create them with `barge cert init-ca` and `barge cert issue \(node)`")
        }
        guard let leaf = chain.first, try Self.name(of: leaf) == node else {
            throw IdentityError("\(certificatePath) is not a certificate for node \(node)",
                                hint: "issue one with `barge cert issue \(node) --ca DIR --out DIR`")
        }
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        server.minimumTLSVersion = .tlsv13
        server.trustRoots = .certificates(roots)
        // The client's name is checked against the config after the handshake.
        server.certificateVerification = .noHostnameVerification
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(key)
        client.minimumTLSVersion = .tlsv13
        client.trustRoots = .certificates(roots)
        // The server must present the certificate of the peer we dialed, by name.
        client.certificateVerification = .fullVerification
        do {
            self.server = try NIOSSLContext(configuration: server)
            self.client = try NIOSSLContext(configuration: client)
        } catch {
            throw IdentityError("cannot set up TLS for \(node): \(error)", hint: "check that \(keyPath) belongs to \(certificatePath)")
        }
    }

    /// The node name a verified certificate carries (its DNS name, else its Common Name).
    public static func name(of certificate: NIOSSLCertificate) throws -> String? {
        let parsed = try Certificate(derEncoded: try certificate.toDERBytes())
        if let names = try parsed.extensions.subjectAlternativeNames {
            for name in names { if case let .dnsName(dns) = name { return dns } }
        }
        for relative in parsed.subject {
            for attribute in relative where attribute.type == .RDNAttributeType.commonName {
                return String(describing: attribute.value)
            }
        }
        return nil
    }
}
