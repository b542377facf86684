import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `barge` executable, built next to this test bundle.
enum BargeBinary {
    static let path: String = locate()

    private static func locate() -> String {
        let files = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["BARGE_BINARY"], files.isExecutableFile(atPath: explicit) {
            return explicit
        }
        // swift test runs <scratch>/<triple>/debug/bargePackageTests.xctest; barge sits beside it.
        if let bundle = try? files.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let candidate = (bundle as NSString).deletingLastPathComponent + "/barge"
            if files.isExecutableFile(atPath: candidate) { return candidate }
        }
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.path + "/.build/debug/barge"
            if files.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return "/nonexistent/barge"
    }
}

/// What one run of barge did.
struct BargeRun: CustomStringConvertible, Sendable {
    let arguments: [String]
    /// The exit status, or nil when a signal ended the process.
    let status: Int32?
    let signal: Int32?
    let stdout: Data
    let stderr: String

    var out: String { String(decoding: stdout, as: UTF8.self) }

    var description: String {
        let ending = status.map { "exit \($0)" } ?? "signal \(signal ?? -1)"
        return "barge \(arguments.joined(separator: " ")) -> \(ending)\nstdout: \(out.prefix(2000))\nstderr: \(stderr.prefix(2000))"
    }

    /// The single JSON document on stdout.
    func json() throws -> Any { try JSONSerialization.jsonObject(with: stdout) }
    func object() throws -> [String: Any] { try #require(try json() as? [String: Any], "not a JSON object: \(self)") }
    func array() throws -> [[String: Any]] { try #require(try json() as? [[String: Any]], "not a JSON array: \(self)") }
}

/// A barge process started in the background, to be killed or awaited.
final class BargeChild {
    let process: Process
    let arguments: [String]
    let outPath: String, errPath: String

    init(process: Process, arguments: [String], outPath: String, errPath: String) {
        self.process = process
        self.arguments = arguments
        self.outPath = outPath
        self.errPath = errPath
    }

    func kill() {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    func wait() -> BargeRun {
        process.waitUntilExit()
        let signaled = process.terminationReason == .uncaughtSignal
        return BargeRun(arguments: arguments,
                        status: signaled ? nil : process.terminationStatus,
                        signal: signaled ? process.terminationStatus : nil,
                        stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
                        stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    }
}

/// A fresh directory under /tmp holding a state dir and whatever a test
/// creates; removed when the test ends. Runs barge with BARGE_STATE_DIR set.
final class Workspace {
    let root: String
    let state: String
    private var runs = 0

    init(_ label: String) throws {
        root = "/tmp/barge-cli-\(label)-\(UUID().uuidString.prefix(8))"
        state = root + "/state"
        try FileManager.default.createDirectory(atPath: root + "/.logs", withIntermediateDirectories: true)
    }

    deinit { _ = try? FileManager.default.removeItem(atPath: root) }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// Starts barge; `wrapper` runs it through another program (e.g. setpriv).
    func start(_ arguments: [String], wrapper: [String] = []) throws -> BargeChild {
        runs += 1
        let outPath = "\(root)/.logs/\(runs).out", errPath = "\(root)/.logs/\(runs).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrapper.first ?? BargeBinary.path)
        process.arguments = wrapper.isEmpty ? arguments : Array(wrapper.dropFirst()) + [BargeBinary.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["BARGE_STATE_DIR"] = state
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        return BargeChild(process: process, arguments: arguments, outPath: outPath, errPath: errPath)
    }

    /// Runs barge to completion.
    func barge(_ arguments: String..., wrapper: [String] = []) throws -> BargeRun {
        try start(arguments, wrapper: wrapper).wait()
    }

    func barge(_ arguments: [String], wrapper: [String] = []) throws -> BargeRun {
        try start(arguments, wrapper: wrapper).wait()
    }

    /// Runs barge and requires exit 0.
    @discardableResult
    func ok(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> BargeRun {
        let run = try barge(arguments)
        try #require(run.status == 0, "\(run)", sourceLocation: sourceLocation)
        return run
    }

    /// `init` plus `volume add v PATH`, creating PATH.
    func initStore(volume: String = "v", at relative: String = "vol", extra: [String] = []) throws -> String {
        let path = self.path(relative)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try ok("init")
        let run = try barge(["volume", "add", volume, path] + extra)
        try #require(run.status == 0, "\(run)")
        return path
    }

    /// `snapshot NAME --json`, requiring exit 0; returns the parsed document.
    func snapshot(_ volume: String = "v", sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try ok("snapshot", volume, "--json", sourceLocation: sourceLocation).object()
    }

    /// Rows of an SQL query against the store's index, through the sqlite3 CLI.
    func sql(_ statement: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-batch", "-separator", "|", state + "/index.sqlite", statement]
        let pipe = Pipe(), errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "sqlite3 \(statement): \(problem)", sourceLocation: sourceLocation)
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Names in a directory (empty when it does not exist).
    func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}

/// Vectors and parameters in testdata/cli.
enum TestData {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("testdata/cli")

    /// Decodes a file; nil (and the `vectorsLoad` test fails) when it is missing or malformed.
    static func load<T: Decodable>(_ name: String, as type: T.Type = T.self) -> T? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(name)) else { return nil }
        return try? JSONDecoder().decode(T.self, from: data)
    }
}

/// A time as ISO 8601 with milliseconds, for `--at`.
func isoTime(nanoseconds: Int64) -> String {
    var seconds = time_t(nanoseconds / 1_000_000_000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    let milliseconds = Int((nanoseconds % 1_000_000_000) / 1_000_000)
    return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                  Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), milliseconds)
}

/// A monotonic clock reading in seconds, for measuring (never for asserting).
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Runs a helper program (cp, truncate, ...) and requires exit 0.
func runTool(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "\(arguments.joined(separator: " ")) failed", sourceLocation: sourceLocation)
}
