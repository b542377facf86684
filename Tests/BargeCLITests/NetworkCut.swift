import Foundation
import Testing

/// A real network cut with nft: TCP from the processes of one group id (an
/// agent started under `setpriv --regid`) to the given ports is dropped, in
/// both directions of every connection those processes own. The table's name
/// is unique per run and the table is removed when the value goes away.
final class NetworkCut {
    let table: String
    let group: Int
    private(set) var active = false

    static var isAvailable: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    }

    /// `index` tells apart the cuts of one test (one per node).
    init(label: String, index: Int = 0) {
        table = "barge_\(label.filter { $0.isLetter || $0.isNumber })_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        group = 40_000 + Int(getpid() % 5_000) * 4 + index
    }

    /// The wrapper that runs an agent in this cut's group (still root).
    var wrapper: [String] { ["/usr/bin/setpriv", "--regid=\(group)", "--clear-groups"] }

    /// Drops the group's TCP to `ports` (all TCP when nil).
    func cut(ports: [Int]?) throws {
        let match = ports.map { "tcp dport { \($0.map(String.init).joined(separator: ", ")) }" } ?? "meta l4proto tcp"
        try nft("""
            table inet \(table) {
                chain out {
                    type filter hook output priority 0; policy accept;
                    meta skgid \(group) \(match) drop
                }
            }
            """)
        active = true
    }

    func heal() throws {
        guard active else { return }
        try nft("delete table inet \(table)\n")
        active = false
    }

    deinit { try? heal() }

    private func nft(_ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nft")
        process.arguments = ["-f", "-"]
        let input = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NetworkCutError(message: "nft failed (\(process.terminationStatus)): \(message)")
        }
    }
}

struct NetworkCutError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
