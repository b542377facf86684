import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real S3-compatible server for one test: moto_server on a free loopback port with
/// signature checking on, started by scripts/s3-test-server.py, which creates an IAM user
/// and prints its access key. Stopped when the value goes away (the script also stops moto
/// when the test process dies).
public final class S3TestServer: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let endpoint: String
    public let accessKeyID: String
    public let secretAccessKey: String
    public let region: String
    private let process: Process

    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/s3-test-server.py").path

    public init() throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // The script prints one JSON line once moto answers and the key exists.
        var line = Data()
        let reader = output.fileHandleForReading
        let deadline = Date().addingTimeInterval(60)
        while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let object = try? JSONSerialization.jsonObject(with: line.prefix { $0 != UInt8(ascii: "\n") }) as? [String: Any],
              let endpoint = object["endpoint"] as? String, let id = object["access_key_id"] as? String,
              let secret = object["secret_access_key"] as? String else {
            process.terminate()
            let problem = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            throw Failure(description: "moto did not start (is `pip install moto[server]` done? `make test` does it): \(problem)")
        }
        self.endpoint = endpoint
        accessKeyID = id
        secretAccessKey = secret
        region = object["region"] as? String ?? "us-east-1"
    }

    deinit { stop() }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A credentials file (mode 600) for an [[offsite]] table.
    public func writeCredentials(to path: String, secret: String? = nil) throws {
        try "access_key_id = \(accessKeyID)\nsecret_access_key = \(secret ?? secretAccessKey)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
    }
}
