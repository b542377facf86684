import NIOSSL

extension TLSIdentity {
    /// TLS to etcd's client port: its CA, and a client certificate when etcd
    /// requires one (`--client-cert-auth`). etcd's certificates are not ours:
    /// they are verified against `ca` with the endpoint's host name.
    public static func etcdClientContext(ca: String?, certificate: String?, key: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        do {
            if let ca { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) }
            if let certificate, let key {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw IdentityError("cannot set up TLS to etcd (ca \(ca ?? "-"), cert \(certificate ?? "-"), key \(key ?? "-")): \(error)",
                                hint: "check the [cluster] ca, cert and key paths")
        }
    }
}
