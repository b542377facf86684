import AgentConfig
import Foundation
import Retention
import Testing

/// A config that must load, with the values it must load to.
struct ValidCase: Codable, Sendable, CustomTestStringConvertible {
    let file: String
    let why: String
    let summary: ConfigSummary
    var testDescription: String { "\(file): \(why)" }
}

/// A config that must fail at `line` (nil: no line to point at) on `key`.
struct InvalidCase: Codable, Sendable, CustomTestStringConvertible {
    let file: String
    let line: Int?
    let key: String?
    let contains: String
    let why: String
    var testDescription: String { "\(file): \(why)" }
}

/// The vectors in testdata/config, described by cases.json.
enum ConfigVectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("testdata/config")

    private struct File: Codable {
        let valid: [ValidCase]
        let invalid: [InvalidCase]
    }

    // A decoding failure leaves both lists empty, which `casesAreLoaded` reports.
    private static let file: File? = try? JSONDecoder().decode(
        File.self, from: Data(contentsOf: directory.appendingPathComponent("cases.json")))

    static let valid = file?.valid ?? []
    static let invalid = file?.invalid ?? []

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }
}

/// What a loaded configuration amounts to, in a form JSON can state.
struct ConfigSummary: Codable, Sendable, Equatable {
    struct Node: Codable, Sendable, Equatable {
        let name, listen, stateDirectory, controlSocket: String
        let metrics: String?
        let peerTimeoutSeconds: Double
    }
    struct TLS: Codable, Sendable, Equatable {
        let ca, certificate, key: String
    }
    struct Peer: Codable, Sendable, Equatable {
        let name, address: String
        let bandwidthLimit: Int?
    }
    struct Hooks: Codable, Sendable, Equatable {
        let start, stop, preSnapshot, postSnapshot: String?
        let timeoutSeconds: Double
    }
    struct Volume: Codable, Sendable, Equatable {
        let name, path, owner: String
        let replicas: [String]
        let intervalSeconds: Double
        let chunkAverage: Int
        let maxDowntimeSeconds: Double
        let hooks: Hooks
        let retention: RetentionPolicy?
    }

    let node: Node
    let tls: TLS
    let peers: [Peer]
    let volumes: [Volume]
    let ownedVolumes: [String]
    let standbyVolumes: [String]

    init(_ config: AgentConfiguration) {
        let n = config.node
        node = Node(name: n.name, listen: n.listen.description, stateDirectory: n.stateDirectory,
                    controlSocket: n.controlSocket, metrics: n.metrics?.description, peerTimeoutSeconds: n.peerTimeoutSeconds)
        tls = TLS(ca: config.tls.ca, certificate: config.tls.certificate, key: config.tls.key)
        peers = config.peers.map { Peer(name: $0.name, address: $0.address.description, bandwidthLimit: $0.bandwidthLimit) }
        volumes = config.volumes.map { v in
            let h = v.hooks
            return Volume(name: v.name, path: v.path, owner: v.owner, replicas: v.replicas,
                          intervalSeconds: v.intervalSeconds, chunkAverage: v.chunkAverage, maxDowntimeSeconds: v.maxDowntimeSeconds,
                          hooks: Hooks(start: h.start, stop: h.stop, preSnapshot: h.preSnapshot,
                                       postSnapshot: h.postSnapshot, timeoutSeconds: h.timeoutSeconds),
                          retention: v.retention)
        }
        ownedVolumes = config.ownedVolumes.map(\.name)
        standbyVolumes = config.standbyVolumes.map(\.name)
    }
}
