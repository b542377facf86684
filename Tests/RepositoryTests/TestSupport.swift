import Foundation
import TestSupport
@testable import Repository

enum TestData {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func json<T: Decodable>(_ path: String, as type: T.Type) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(contentsOf: root.appendingPathComponent("testdata/" + path)))
    }

    /// The `cases` array of a vector file (empty when missing or malformed: each suite's `casesAreLoaded` fails then).
    static func cases<Case: Decodable>(_ path: String, of type: Case.Type) -> [Case] {
        json(path, as: VectorFile<Case>.self)?.cases ?? []
    }
}

/// A vector file: `{"cases": [...]}` (other keys, such as `about`, are ignored).
struct VectorFile<Case: Decodable>: Decodable {
    let cases: [Case]
}

/// A fresh directory under /tmp, removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "barge-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Deterministic bytes for tests.
struct Bytes {
    static func random(_ count: Int, seed: UInt64) -> [UInt8] { randomBytes(count, seed: seed) }

    static func text(_ count: Int) -> [UInt8] {
        Array(String(repeating: "the quick brown fox jumps over the lazy dog\n", count: count / 44 + 1).utf8.prefix(count))
    }
}

func sampleRecord(root: BlobID, volume: String = "v") -> SnapshotRecord {
    SnapshotRecord(volume: volume, volumePath: "/srv/\(volume)", chunkAverage: 65536, parent: nil, root: root,
                   rootMetadata: [1, 2, 3], timeNanoseconds: 1_700_000_000_000_000_000, epoch: 3, origin: "node-a",
                   state: "complete", files: 1, directories: 0, bytesTotal: 10, bytesAdded: 10, skipped: 0)
}
