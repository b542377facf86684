import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real agents on 127.0.0.x, each with its own state dir, certificate,
/// config, control socket and volume directory, inside one Workspace.
final class AgentCluster {
    struct Volume {
        var name: String
        var owner: String
        var replicas: [String]
    }

    let workspace: Workspace
    let nodes: [String]
    let volumes: [Volume]
    let port: Int
    private(set) var agents: [String: BargeChild] = [:]
    /// Extra lines for a node's [[peer]] entries, by (node, peer).
    var peerExtras: [String: String] = [:]
    /// Overrides a volume's owner in one node's config (a disagreeing node).
    var ownerOverrides: [String: String] = [:]
    /// Every volume's snapshot interval.
    var interval = "1h"
    /// Extra lines for a volume's table, by volume name.
    var volumeExtras: [String: String] = [:]
    /// Extra lines for every node's [node] table.
    var nodeExtras = ""
    /// A command an agent runs under, by node (e.g. setpriv, to give it a group of its own).
    var wrappers: [String: [String]] = [:]
    /// A `[cluster]` table for every node, or one per node (etcd endpoints differ to cut one node off).
    var clusterTable: ((String) -> String)?
    /// Give every volume the stand-in container (testdata/agent/container.py) as start/stop hooks.
    var containerHooks = false
    /// Extra arguments to one node's hook, by "node/start" or "node/stop" (e.g. "--fail").
    var hookArguments: [String: String] = [:]
    /// Shared by the stand-in containers of all nodes: acks.log, violations.log, claims.
    var containerDirectory: String { workspace.path("containers") }

    /// Below the kernel's ephemeral range (32768-60999 here), so no outgoing
    /// connection of an earlier test can hold a port an agent must listen on.
    private static let nextPort = Mutex(10_000 + Int(getpid() % 600) * 30)

    init(_ label: String, nodes: [String] = ["d0", "d1"], volumes: [Volume] = [Volume(name: "v", owner: "d0", replicas: ["d1"])]) throws {
        workspace = try Workspace(label)
        self.nodes = nodes
        self.volumes = volumes
        let addresses = nodes.indices.map { "127.0.0.\($0 + 1)" }
        port = Self.nextPort.withLock { value in
            while !([value, value + 1].allSatisfy { port in addresses.allSatisfy { Self.isFree(port, on: $0) } }) { value += 2 }
            defer { value += 2 }
            return value
        }
        try FileManager.default.createDirectory(atPath: workspace.path("containers"), withIntermediateDirectories: true)
        try workspace.ok("cert", "init-ca", "--out", workspace.path("ca"))
        for node in nodes { try workspace.ok("cert", "issue", node, "--ca", workspace.path("ca"), "--out", workspace.path("certs")) }
        for node in nodes {
            for volume in volumes where volume.owner == node || volume.replicas.contains(node) {
                try FileManager.default.createDirectory(atPath: volumePath(volume.name, on: node), withIntermediateDirectories: true)
            }
        }
    }

    /// Whether a TCP listener could bind address:port now (another program may hold it).
    private static func isFree(_ port: Int, on address: String) -> Bool {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, address, &socketAddress.sin_addr)
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    deinit {
        for agent in agents.values { agent.kill(); _ = agent.wait() }
        killContainers()
    }

    /// Kills every stand-in container of this cluster (a dead host's, or at the end).
    func killContainers(of node: String? = nil) {
        for name in workspace.list(containerDirectory) where name.hasSuffix(".pid") && (node == nil || name.hasSuffix(".\(node!).pid")) {
            if let text = try? String(contentsOfFile: containerDirectory + "/" + name, encoding: .utf8), let pid = Int32(text) {
                _ = Glibc.kill(pid, SIGKILL)
            }
        }
        // A killed container cannot release its claim: it no longer runs anywhere.
        for name in workspace.list(containerDirectory) where name.hasSuffix(".running") {
            let path = containerDirectory + "/" + name
            if node == nil || (try? String(contentsOfFile: path, encoding: .utf8)) == node { unlink(path) }
        }
    }

    func address(_ node: String) -> String { "127.0.0.\(nodes.firstIndex(of: node)! + 1)" }
    func socket(_ node: String) -> String { workspace.path("\(node).sock") }
    func stateDirectory(_ node: String) -> String { workspace.path("\(node)/state") }
    func volumePath(_ volume: String, on node: String) -> String { workspace.path("\(node)/vols/\(volume)") }
    func standbyPath(_ volume: String, on node: String) -> String { workspace.path("\(node)/vols/.barge-standby/\(volume)") }
    func configPath(_ node: String) -> String { workspace.path("\(node).toml") }
    var metricsPort: Int { port + 1 }

    func config(for node: String, tls: (ca: String, cert: String, key: String)? = nil, without excluded: Set<String> = []) -> String {
        let tls = tls ?? (workspace.path("ca/ca.pem"), workspace.path("certs/\(node).pem"), workspace.path("certs/\(node).key"))
        var text = """
            [node]
            name = "\(node)"
            listen = "\(address(node)):\(port)"
            state_dir = "\(stateDirectory(node))"
            control_socket = "\(socket(node))"
            metrics = "\(address(node)):\(metricsPort)"
            \(nodeExtras)
            [tls]
            ca = "\(tls.ca)"
            cert = "\(tls.cert)"
            key = "\(tls.key)"

            """
        for peer in nodes where peer != node && !excluded.contains(peer) {
            text += "[[peer]]\nname = \"\(peer)\"\naddress = \"\(address(peer)):\(port)\"\n\(peerExtras["\(node)>\(peer)"] ?? "")\n"
        }
        if let clusterTable { text += clusterTable(node) + "\n" }
        for volume in volumes where !excluded.contains(volume.name) {
            let replicas = volume.replicas.map { "\"\($0)\"" }.joined(separator: ", ")
            text += """
                [[volume]]
                name = "\(volume.name)"
                path = "\(volumePath(volume.name, on: node))"
                owner = "\(ownerOverrides["\(node)/\(volume.name)"] ?? volume.owner)"
                replicas = [\(replicas)]
                interval = "\(interval)"
                \(volumeExtras[volume.name] ?? "")

                """
            if containerHooks {
                let script = TestData.directory.deletingLastPathComponent().appendingPathComponent("agent/container.py").path
                let base = "python3 \(script)"
                text += """
                    [volume.hooks]
                    start = "\(base) start --node \(node) --cluster \(containerDirectory) \(hookArguments["\(node)/start"] ?? "")"
                    stop = "\(base) stop --node \(node) --cluster \(containerDirectory) \(hookArguments["\(node)/stop"] ?? "")"
                    pre_snapshot = "\(base) pre_snapshot --node \(node) --cluster \(containerDirectory)"
                    post_snapshot = "\(base) post_snapshot --node \(node) --cluster \(containerDirectory)"
                    timeout = "20s"

                    """
            }
        }
        return text
    }

    /// Writes the node's config and starts its agent; returns once the control socket answers.
    func start(_ node: String, config text: String? = nil) throws {
        try (text ?? config(for: node)).write(toFile: configPath(node), atomically: true, encoding: .utf8)
        agents[node] = try workspace.start(["agent", "--config", configPath(node)], wrapper: wrappers[node] ?? [])
        let deadline = monotonicSeconds() + 20
        while monotonicSeconds() < deadline {
            if try run(node, "status").status == 0 { return }
            if agents[node]?.process.isRunning != true { break }
            usleep(50_000)
        }
        Issue.record("agent \(node) did not come up:\n\(log(node))")
        throw AgentClusterError.notReady(node)
    }

    /// Sends a signal and waits for the agent to exit.
    @discardableResult
    func stop(_ node: String, signal: Int32 = SIGTERM) -> BargeRun? {
        guard let agent = agents.removeValue(forKey: node) else { return nil }
        _ = Glibc.kill(agent.process.processIdentifier, signal)
        return agent.wait()
    }

    func signal(_ node: String, _ signal: Int32) {
        if let agent = agents[node] { _ = Glibc.kill(agent.process.processIdentifier, signal) }
    }

    func log(_ node: String) -> String {
        guard let agent = agents[node] else { return "" }
        return String(decoding: FileManager.default.contents(atPath: agent.errPath) ?? Data(), as: UTF8.self)
    }

    func run(_ node: String, _ arguments: String...) throws -> BargeRun {
        try workspace.barge(arguments + ["--socket", socket(node)])
    }

    func startRun(_ node: String, _ arguments: String...) throws -> BargeChild {
        try workspace.start(arguments + ["--socket", socket(node)])
    }

    func ok(_ node: String, _ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> BargeRun {
        let run = try workspace.barge(arguments + ["--socket", socket(node)])
        try #require(run.status == 0, "\(run)\nagent log:\n\(log(node).suffix(3000))", sourceLocation: sourceLocation)
        return run
    }

    func status(_ node: String) throws -> [String: Any] { try ok(node, "status", "--json").object() }

    func volumeStatus(_ node: String, _ volume: String = "v") throws -> [String: Any] {
        let volumes = try #require(try status(node)["volumes"] as? [[String: Any]])
        return try #require(volumes.first { $0["name"] as? String == volume })
    }

    /// Snapshot through the agent; returns the id.
    func snapshot(_ node: String = "d0", _ volume: String = "v") throws -> String {
        try #require(try ok(node, "snapshot", volume, "--json").object()["id"] as? String)
    }

    func replicate(_ node: String = "d0", _ volume: String = "v") throws -> [String: Any] {
        try ok(node, "replicate", volume, "--json").object()
    }

    /// Bytes in the node's pack files: what a transfer in progress has stored so far.
    func packBytes(_ node: String) -> Int {
        let packs = workspace.path("\(node)/state/packs")
        return workspace.list(packs).reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: packs + "/" + $1)[.size] as? Int) ?? 0) }
    }

    /// `barge verify --read-data` passes on the node's store.
    func expectVerified(_ node: String, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) throws {
        let verify = try workspace.barge("verify", "--read-data", "--state-dir", stateDirectory(node))
        #expect(verify.status == 0, "\(comment) \(verify)", sourceLocation: sourceLocation)
    }

    /// Waits until the replica's standby copy equals `snapshot`.
    func waitForStandby(_ node: String, _ volume: String = "v", snapshot: String, timeout: Double = 30,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            let status = try volumeStatus(node, volume)
            if status["standby_snapshot"] as? String == snapshot, status["standby_updating"] as? Bool == false { return }
            usleep(50_000)
        }
        Issue.record("standby of \(volume) on \(node) never reached \(snapshot.prefix(12)):\n\(log(node).suffix(3000))", sourceLocation: sourceLocation)
        throw AgentClusterError.timeout
    }

    /// GET path on the node's metrics port, over a plain socket.
    func httpGet(_ node: String, _ path: String) throws -> String {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(metricsPort).bigEndian)
        inet_pton(AF_INET, self.address(node), &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "connect to metrics of \(node)")
        let request = Array("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }
}

enum AgentClusterError: Error {
    case notReady(String)
    case timeout
}
