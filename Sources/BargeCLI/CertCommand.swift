import ArgumentParser
import Foundation
import Identity

struct CertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert", abstract: "Create the cluster CA and node certificates for mutual TLS.",
        subcommands: [InitCA.self, Issue.self])

    struct InitCA: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-ca", abstract: "Write DIR/ca.pem and DIR/ca.key (0600). Keep ca.key off the nodes.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "The directory to write into.") var out: String

        func run() throws {
            let ca = try CertificateAuthority.create(in: out)
            let certificate = "\(out)/\(CertificateAuthority.certificateFile)", key = "\(out)/\(CertificateAuthority.keyFile)"
            if global.json {
                Terminal.json(["certificate": certificate, "key": key, "subject": "\(ca.certificate.subject)"])
            } else {
                print("wrote \(certificate) and \(key) (\(ca.certificate.subject))")
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "issue", abstract: "Write DIR2/NODE.pem and DIR2/NODE.key (0600), signed by the CA in --ca.")
        @Argument(help: "The node's name, as in [node] name and [[peer]] name.") var node: String
        @Option(help: "The directory holding ca.pem and ca.key.") var ca: String
        @OptionGroup var global: GlobalOptions
        @Option(help: "The directory to write into.") var out: String

        func run() throws {
            try CertificateAuthority.load(from: ca).issue(node: node, into: out)
            if global.json {
                Terminal.json(["node": node, "certificate": "\(out)/\(node).pem", "key": "\(out)/\(node).key"])
            } else {
                print("wrote \(out)/\(node).pem and \(out)/\(node).key")
            }
        }
    }
}
