import Foundation
import Testing

/// What the stand-in containers recorded: every acknowledged commit, and any
/// moment two of them ran at once.
struct ContainerLedger {
    let directory: String

    /// Acknowledged commit numbers, in order, with the node that made them.
    func acknowledged() -> [(node: String, n: Int)] { acknowledgedWithEpochs().map { ($0.node, $0.n) } }

    /// The same, with the epoch (fencing token) each container ran under.
    func acknowledgedWithEpochs() -> [(node: String, n: Int, epoch: UInt64)] {
        guard let text = try? String(contentsOfFile: directory + "/acks.log", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let n = Int(parts[1]), let epoch = UInt64(parts[2]) else { return nil }
            return (String(parts[0]), n, epoch)
        }
    }

    /// Token order is time order: a commit acknowledged under a token never
    /// follows one acknowledged under a higher token. Returns the first offence.
    func epochRegression() -> String? {
        var highest: (node: String, n: Int, epoch: UInt64)?
        for ack in acknowledgedWithEpochs() {
            if let top = highest, ack.epoch < top.epoch {
                return "\(ack.node) acknowledged commit \(ack.n) under epoch \(ack.epoch) after \(top.node) acknowledged \(top.n) under \(top.epoch)"
            }
            if ack.epoch > highest?.epoch ?? 0 { highest = ack }
        }
        return nil
    }

    var violations: String { (try? String(contentsOfFile: directory + "/violations.log", encoding: .utf8)) ?? "" }

    /// Commit numbers in the database, and SQLite's integrity check, read through the sqlite3 CLI.
    static func database(_ path: String) throws -> (rows: Set<Int>, integrity: String) {
        func query(_ sql: String) throws -> String { try readOnlySQL(path, sql) }
        let rows = Set(try query("SELECT n FROM commits").split(separator: "\n").compactMap { Int($0) })
        return (rows, try query("PRAGMA integrity_check"))
    }

    /// Waits until the container on `node` has acknowledged at least `count` more commits.
    func waitForProgress(on node: String, beyond count: Int, timeout: Double = 20) throws {
        try waitUntil(timeout: timeout) { acknowledged().filter { $0.node == node }.count > count }
    }
}
