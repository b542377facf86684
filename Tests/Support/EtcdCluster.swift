import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real etcd cluster of 1 or 3 members on loopback for one test: free ports,
/// its own data directories and cluster token, quiet and fast raft timing.
/// Everything is killed and removed when the value goes away, a failed test included.
public final class EtcdCluster {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    public static let binary = "/usr/bin/etcd"
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    /// Server certificate, key and the CA that issued client certificates, for
    /// an https listener beside the plain one (which the helper itself uses).
    public struct TLSFiles {
        public var certificate: String
        public var key: String
        public var clientCA: String

        public init(certificate: String, key: String, clientCA: String) {
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
        }
    }

    public let root: String
    public let token: String
    public let size: Int
    public let tls: TLSFiles?
    private var ports: [(client: Int, peer: Int, secure: Int)] = []
    private var processes: [Process?]
    /// Each member's id, learned from its status once it is healthy.
    private var memberIDs: [UInt64?]

    /// Below the ephemeral range (32768-60999 here), and 9000 ports away from
    /// where AgentCluster starts in this process, so the two do not race for a port.
    private static let nextPort = Mutex(10_000 + (Int(getpid() % 600) * 30 + 9_000) % 18_000)

    public init(members size: Int = 1, label: String, tls: TLSFiles? = nil) async throws {
        let tag = "\(label)-\(UUID().uuidString.prefix(8))"
        root = "/tmp/barge-etcd-\(tag)"
        token = "barge-test-\(tag)"
        self.size = size
        self.tls = tls
        processes = Array(repeating: nil, count: size)
        memberIDs = Array(repeating: nil, count: size)
        _ = Self.reapOrphans
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try String(getpid()).write(toFile: root + "/owner", atomically: true, encoding: .utf8)
        // A port taken between the probe and etcd's bind makes etcd exit: start again on others.
        var lastError: (any Error)?
        for _ in 0..<3 {
            ports = (0..<size).map { _ in Self.claimPorts() }
            do {
                for member in 0..<size { try launch(member, fresh: true) }
                try await waitHealthy(Array(0..<size), within: 30)
                return
            } catch {
                lastError = error
                for member in 0..<size { kill(member) }
                for member in 0..<size { try? FileManager.default.removeItem(atPath: "\(root)/m\(member)") }
            }
        }
        throw lastError ?? Failure(description: "etcd did not start")
    }

    deinit { shutdown() }

    /// Kills every member and removes the data directories.
    public func shutdown() {
        for member in 0..<size { kill(member) }
        try? FileManager.default.removeItem(atPath: root)
    }

    public func endpoint(_ member: Int) -> String { "http://127.0.0.1:\(ports[member].client)" }
    /// The https client URL (only with `tls`).
    public func secureEndpoint(_ member: Int) -> String { "https://127.0.0.1:\(ports[member].secure)" }
    public var endpoints: [String] { (0..<size).map(endpoint) }
    public func isRunning(_ member: Int) -> Bool { processes[member]?.isRunning ?? false }

    /// SIGKILL, as a crash: no goodbye to the peers.
    public func kill(_ member: Int) {
        guard let process = processes[member] else { return }
        if process.isRunning {
            _ = Glibc.kill(process.processIdentifier, SIGCONT)
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        processes[member] = nil
    }

    /// SIGTERM, a clean stop.
    public func stop(_ member: Int) {
        guard let process = processes[member] else { return }
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        processes[member] = nil
    }

    /// SIGSTOP: the member keeps its sockets but answers nothing.
    public func pause(_ member: Int) {
        if let process = processes[member], process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGSTOP) }
    }

    public func resume(_ member: Int) {
        if let process = processes[member], process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGCONT) }
    }

    /// Starts a killed or stopped member again on its data directory and waits until it serves.
    public func restart(_ member: Int) async throws {
        kill(member)
        try launch(member, fresh: false)
        try await waitHealthy([member], within: 30)
    }

    /// The index of the member the running members agree is leader, or nil.
    public func leader() async throws -> Int? {
        for member in 0..<size where isRunning(member) {
            guard let status = try? await post("/v3/maintenance/status", "{}", member: member, timeout: 2),
                  let leader = (status["leader"] as? String).flatMap(UInt64.init) else { continue }
            return memberIDs.firstIndex(of: leader)
        }
        return nil
    }

    /// One call to a member's gateway, for test setup (auth, compaction). Throws
    /// on a transport error or an HTTP status other than 200.
    @discardableResult
    public func post(_ path: String, _ json: String, member: Int = 0, token: String? = nil, timeout: TimeInterval = 5) async throws -> [String: Any] {
        let (status, body) = try PlainHTTP.request("POST", path, body: Array(json.utf8), port: ports[member].client,
                                                   headers: token.map { ["Authorization": $0] } ?? [:], timeout: timeout)
        guard status == 200 else {
            throw Failure(description: "\(path) on member \(member): HTTP \(status) \(String(decoding: body, as: UTF8.self))")
        }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }

    /// A member's Prometheus metrics, as text.
    public func metrics(member: Int = 0) async throws -> String {
        let (_, body) = try PlainHTTP.request("GET", "/metrics", body: [], port: ports[member].client, timeout: 5)
        return String(decoding: body, as: UTF8.self)
    }

    // MARK: Processes

    private func launch(_ member: Int, fresh: Bool) throws {
        let peers = (0..<size).map { "m\($0)=http://127.0.0.1:\(ports[$0].peer)" }.joined(separator: ",")
        var client = "http://127.0.0.1:\(ports[member].client)"
        let peer = "http://127.0.0.1:\(ports[member].peer)"
        if tls != nil { client += ",https://127.0.0.1:\(ports[member].secure)" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--name", "m\(member)", "--data-dir", "\(root)/m\(member)",
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", peers, "--initial-cluster-token", token, "--initial-cluster-state", "new",
            "--heartbeat-interval", "100", "--election-timeout", "1000",
            "--logger", "zap", "--log-level", "warn",
        ]
        if let tls {
            process.arguments! += ["--cert-file", tls.certificate, "--key-file", tls.key,
                                   "--client-cert-auth", "--trusted-ca-file", tls.clientCA]
        }
        let log = "\(root)/m\(member).log"
        if fresh || !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = FileHandle(forWritingAtPath: log)
        handle?.seekToEndOfFile()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes[member] = process
        // For reapOrphans, should this test process die without its deinit.
        try String(process.processIdentifier).write(toFile: "\(root)/m\(member).pid", atomically: true, encoding: .utf8)
    }

    /// Kills the members of clusters whose test process died (a crash skips
    /// deinit) and removes their directories. Runs once per process.
    private static let reapOrphans: Void = {
        let files = FileManager.default
        for name in (try? files.contentsOfDirectory(atPath: "/tmp")) ?? [] where name.hasPrefix("barge-etcd-") {
            let directory = "/tmp/" + name
            guard let owner = (try? String(contentsOfFile: directory + "/owner", encoding: .utf8)).flatMap({ Int32($0) }),
                  Glibc.kill(owner, 0) != 0, errno == ESRCH else { continue }
            for file in (try? files.contentsOfDirectory(atPath: directory)) ?? [] where file.hasSuffix(".pid") {
                guard let pid = (try? String(contentsOfFile: directory + "/" + file, encoding: .utf8)).flatMap({ Int32($0) }) else { continue }
                // Only if the pid still runs etcd on this directory (pids are reused).
                let commandLine = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
                if String(decoding: commandLine, as: UTF8.self).contains(directory + "/") { _ = Glibc.kill(pid, SIGKILL) }
            }
            try? files.removeItem(atPath: directory)
        }
    }()

    /// Waits until each member answers a linearizable read (so the cluster has a leader) and records its id.
    private func waitHealthy(_ members: [Int], within seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        for member in members {
            while true {
                guard isRunning(member) else {
                    throw Failure(description: "etcd member \(member) exited: \(logTail(member))")
                }
                if serves(member) {
                    if memberIDs[member] != nil { break }
                    if let status = try? await post("/v3/maintenance/status", "{}", member: member, timeout: 1),
                       let header = status["header"] as? [String: Any],
                       let id = (header["member_id"] as? String).flatMap(UInt64.init) {
                        memberIDs[member] = id
                        break
                    }
                }
                guard Date() < deadline else {
                    throw Failure(description: "etcd member \(member) not healthy after \(seconds) s: \(logTail(member))")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Whether the member answers a linearizable read, or (with auth on, when
    /// reads need a token) reports itself healthy, which needs a leader too.
    private func serves(_ member: Int) -> Bool {
        guard let (status, body) = try? PlainHTTP.request("POST", "/v3/kv/range", body: Array(#"{"key":"AA=="}"#.utf8),
                                                         port: ports[member].client, timeout: 1) else { return false }
        if status == 200 { return true }
        guard String(decoding: body, as: UTF8.self).contains("user name is empty"),
              let (_, health) = try? PlainHTTP.request("GET", "/health", body: [], port: ports[member].client, timeout: 1) else { return false }
        return String(decoding: health, as: UTF8.self).contains(#""health":"true""#)
    }

    private func logTail(_ member: Int) -> String {
        let text = (try? String(contentsOfFile: "\(root)/m\(member).log", encoding: .utf8)) ?? ""
        return String(text.suffix(1500))
    }

    /// Three free ports on 127.0.0.1, unique within this process.
    private static func claimPorts() -> (client: Int, peer: Int, secure: Int) {
        nextPort.withLock { value in
            while !(isFree(value) && isFree(value + 1) && isFree(value + 2)) { value = advance(value) }
            defer { value = advance(value) }
            return (value, value + 1, value + 2)
        }
    }

    private static func advance(_ port: Int) -> Int { port + 3 >= 28_000 ? 10_000 : port + 3 }

    /// Whether a TCP listener could bind 127.0.0.1:port now.
    private static func isFree(_ port: Int) -> Bool {
        let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
