import Foundation

/// The captured gateway JSON in testdata/etcd.
enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("testdata/etcd")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static let streams = ["watch-put-delete.jsonl", "watch-compacted.jsonl", "watch-auth-cancelled.jsonl"]
}
