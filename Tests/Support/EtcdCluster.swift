import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
    }

    public static let binary = "/usr/bin/etcd"
    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    public let root: String
    public let token: String
    public let size: Int
    private var ports: [(client: Int, peer: Int)] = []
    private var processes: [Process?]
    /// Each member's id, learned from its status once it is healthy.
    private var memberIDs: [UInt64?]

    /// Below the ephemeral range (32768-60999 here), and 9000 ports away from
    /// where AgentCluster starts in this process, so the two do not race for a port.
    private static let nextPort = Mutex(10_000 + (Int(getpid() % 600) * 30 + 9_000) % 18_000)

    public init(members size: Int = 1, label: String) async throws {
        let tag = "\(label)-\(UUID().uuidString.prefix(8))"
        root = "/tmp/barge-etcd-\(tag)"
        token = "barge-test-\(tag)"
        self.size = size
        processes = Array(repeating: nil, count: size)
        memberIDs = Array(repeating: nil, count: size)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
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
                try? FileManager.default.removeItem(atPath: root)
                try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
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
        var request = URLRequest(url: URL(string: endpoint(member) + path)!)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.timeoutInterval = timeout
        if let token { request.setValue(token, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw Failure(description: "\(path) on member \(member): \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }

    /// A member's Prometheus metrics, as text.
    public func metrics(member: Int = 0) async throws -> String {
        var request = URLRequest(url: URL(string: endpoint(member) + "/metrics")!)
        request.timeoutInterval = 5
        let (data, _) = try await URLSession.shared.data(for: request)
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Processes

    private func launch(_ member: Int, fresh: Bool) throws {
        let peers = (0..<size).map { "m\($0)=http://127.0.0.1:\(ports[$0].peer)" }.joined(separator: ",")
        let client = "http://127.0.0.1:\(ports[member].client)", peer = "http://127.0.0.1:\(ports[member].peer)"
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
        let log = "\(root)/m\(member).log"
        if fresh || !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = FileHandle(forWritingAtPath: log)
        handle?.seekToEndOfFile()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes[member] = process
    }

    /// Waits until each member answers a linearizable read (so the cluster has a leader) and records its id.
    private func waitHealthy(_ members: [Int], within seconds: Double) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        for member in members {
            while true {
                guard isRunning(member) else {
                    throw Failure(description: "etcd member \(member) exited: \(logTail(member))")
                }
                if (try? await post("/v3/kv/range", #"{"key":"AA=="}"#, member: member, timeout: 1)) != nil,
                   let status = try? await post("/v3/maintenance/status", "{}", member: member, timeout: 1),
                   let header = status["header"] as? [String: Any],
                   let id = (header["member_id"] as? String).flatMap(UInt64.init) {
                    memberIDs[member] = id
                    break
                }
                guard Date() < deadline else {
                    throw Failure(description: "etcd member \(member) not healthy after \(seconds) s: \(logTail(member))")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private func logTail(_ member: Int) -> String {
        let text = (try? String(contentsOfFile: "\(root)/m\(member).log", encoding: .utf8)) ?? ""
        return String(text.suffix(1500))
    }

    /// Two free ports on 127.0.0.1, unique within this process.
    private static func claimPorts() -> (client: Int, peer: Int) {
        nextPort.withLock { value in
            while !(isFree(value) && isFree(value + 1)) { value = advance(value) }
            defer { value = advance(value) }
            return (value, value + 1)
        }
    }

    private static func advance(_ port: Int) -> Int { port + 2 >= 28_000 ? 10_000 : port + 2 }

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
