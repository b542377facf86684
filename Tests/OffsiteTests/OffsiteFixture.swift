import Foundation
import Testing
import TestSupport
import Repository
import S3
import Snapshots
@testable import Offsite

/// One moto server for the whole test process (each test gets its own bucket).
enum SharedS3 {
    static let server: Result<S3TestServer, any Error> = Result { try S3TestServer() }
    static func get() throws -> S3TestServer { try server.get() }
}

/// A local store with a volume, a key, and a fresh bucket on moto holding an initialized copy.
final class OffsiteFixture: @unchecked Sendable {
    let root: String
    let state: String
    let volume: String
    let engine: SnapshotEngine
    let server: S3TestServer
    let target: OffsiteTarget
    /// Unsealed access to the same bucket, for damaging objects on purpose.
    let raw: S3Client

    init(_ label: String, packSize: Int = 16 << 20, partSize: Int = 8 << 20) async throws {
        server = try SharedS3.get()
        root = "/tmp/barge-offsite-\(label)-\(UUID().uuidString.prefix(8))"
        state = root + "/state"
        volume = root + "/volume"
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        let store = try Store.initialize(at: state)
        try store.index.addVolume(VolumeRecord(name: "v", path: volume, chunkAverage: 16384))
        engine = SnapshotEngine(stateDirectory: state, nodeName: "test")
        _ = try OffsiteKey.generate(path: root + "/key")
        let bucket = "t-\(label.lowercased())-\(UUID().uuidString.prefix(8).lowercased())"
        let credentials = S3Credentials(accessKeyID: server.accessKeyID, secretAccessKey: server.secretAccessKey)
        target = OffsiteTarget(name: "s3", endpoint: server.endpoint, region: server.region, bucket: bucket, prefix: "site-a/c1/",
                               credentials: credentials, keyFile: root + "/key", packSize: packSize, partSize: partSize, concurrency: 2)
        raw = try S3Client(endpoint: S3Endpoint(server.endpoint), region: server.region, bucket: bucket, credentials: credentials)
        _ = try await OffsiteRepository.initialize(target)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let url = URL(fileURLWithPath: volume + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func snapshot() throws -> StoredSnapshot {
        let outcome = try engine.snapshot(volume: "v")
        return StoredSnapshot(id: outcome.id, record: outcome.record)
    }

    func open(memory: String? = nil) async throws -> OffsiteRepository {
        try await OffsiteRepository.open(target, memory: memory)
    }

    @discardableResult
    func upload(_ snapshot: StoredSnapshot) async throws -> UploadReport {
        let store = try Store(at: state, access: .read)
        return try await OffsiteUploader(store: store, repository: try await open(), cache: nil).upload(snapshot)
    }

    /// Imports into a new empty store and restores it into a new directory; returns that directory.
    func restoreOnBareMachine(_ snapshot: StoredSnapshot, label: String) async throws -> String {
        let bare = root + "/bare-" + label
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        let store = try Store.initialize(at: bare + "/state")
        _ = try await OffsiteImporter(store: store, repository: try await open(), cache: nil).importSnapshot(snapshot)
        let target = bare + "/restored"
        _ = try Restorer(store: store).restore(snapshot, subpath: nil, to: target)
        return target
    }

    /// Object names under the prefix, without it.
    func objects(_ kind: String) async throws -> [S3Object] {
        try await raw.list(prefix: target.prefix + kind).map { S3Object(key: String($0.key.dropFirst(target.prefix.count)), size: $0.size) }
    }

    func rawGet(_ name: String) async throws -> [UInt8] {
        try #require(try await raw.get(target.prefix + name, maxLength: 1 << 30))
    }

    func rawPut(_ name: String, _ bytes: [UInt8]) async throws {
        _ = try await raw.put(target.prefix + name, bytes, ifAbsent: false)
    }

    /// Flips a bit a third of the way into the largest data pack (a chunk pack, in these tests).
    func damageLargestPack() async throws {
        let largest = try #require(try await objects(ObjectName.dataPrefix).max { $0.size < $1.size }).key
        var bytes = try await rawGet(largest)
        bytes[bytes.count / 3] ^= 0x10
        try await rawPut(largest, bytes)
    }
}

/// Every regular file under `root`, relative path to bytes.
func contents(of root: String) throws -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let relative = enumerator?.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
            files[relative] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative)))
        }
    }
    return files
}
