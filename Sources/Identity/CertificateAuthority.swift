import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster's CA: signs one certificate per node, whose name is the node's
/// name (Common Name and DNS subject alternative name). ECDSA P-256.
public struct CertificateAuthority {
    public static let certificateFile = "ca.pem"
    public static let keyFile = "ca.key"
    static let caLifetime: TimeInterval = 20 * 365 * 86400
    static let nodeLifetime: TimeInterval = 5 * 365 * 86400

    public let certificate: Certificate
    let key: P256.Signing.PrivateKey

    /// Writes `DIR/ca.pem` and `DIR/ca.key` (0600); refuses to overwrite.
    @discardableResult
    public static func create(in directory: String, name: String = "barge cluster CA") throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName { CommonName(name) }
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(caLifetime),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: .init(key))
        try SecureFile.createDirectory(directory)
        try SecureFile.write(key.pemRepresentation, to: directory + "/" + keyFile, secret: true)
        try SecureFile.write(try certificate.serializeAsPEM().pemString, to: directory + "/" + certificateFile, secret: false)
        return CertificateAuthority(certificate: certificate, key: key)
    }

    public static func load(from directory: String) throws -> CertificateAuthority {
        let certificatePath = directory + "/" + certificateFile, keyPath = directory + "/" + keyFile
        do {
            let certificate = try Certificate(pemEncoded: try SecureFile.read(certificatePath))
            let key = try P256.Signing.PrivateKey(pemRepresentation: try SecureFile.read(keyPath))
            guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
                throw IdentityError("\(keyPath) is not the key of \(certificatePath)")
            }
            return CertificateAuthority(certificate: certificate, key: key)
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError("cannot load the CA from \(directory): \(error)",
                                hint: "pass the directory holding ca.pem and ca.key, or create one with `barge cert init-ca --out \(directory)`")
        }
    }

    /// Writes `DIR/NODE.pem` and `DIR/NODE.key` (0600); refuses to overwrite.
    public func issue(node: String, into directory: String) throws {
        guard NodeName.isValid(node) else {
            throw IdentityError("\"\(node)\" is not a valid node name", hint: NodeName.rule)
        }
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth, .clientAuth])
            SubjectAlternativeNames([.dnsName(node)])
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(Self.nodeLifetime),
            issuer: self.certificate.subject, subject: try DistinguishedName { CommonName(node) },
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(self.key))
        try SecureFile.createDirectory(directory)
        try SecureFile.write(key.pemRepresentation, to: "\(directory)/\(node).key", secret: true)
        try SecureFile.write(try certificate.serializeAsPEM().pemString, to: "\(directory)/\(node).pem", secret: false)
    }
}

/// Node names double as TLS names and file names.
public enum NodeName {
    public static let rule = "use 1-63 lowercase letters, digits, '.' or '-', starting with a letter or digit"

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first,
              first.isLowercaseASCIIAlphanumeric else { return false }
        return bytes.allSatisfy { $0.isLowercaseASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}

extension UInt8 {
    var isLowercaseASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
