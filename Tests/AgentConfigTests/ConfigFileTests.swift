import AgentConfig
import Foundation
import Testing

@Suite struct ConfigFileTests {
    @Test func casesAreLoaded() {
        #expect(ConfigVectors.valid.count >= 4)
        #expect(ConfigVectors.invalid.count >= 60)
    }

    /// Every file under invalid/ has an expectation, and every expectation a file,
    /// so a vector cannot be added or removed without saying what it tests.
    @Test func everyVectorHasACase() throws {
        let directory = ConfigVectors.directory
        let invalidFiles = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("invalid").path)
            .filter { $0.hasSuffix(".toml") }.map { "invalid/\($0)" }
        let validFiles = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasPrefix("valid-") && $0.hasSuffix(".toml") }
        #expect(Set(invalidFiles) == Set(ConfigVectors.invalid.map(\.file)))
        #expect(invalidFiles.count == ConfigVectors.invalid.count)
        #expect(Set(validFiles) == Set(ConfigVectors.valid.map(\.file)))
    }

    @Test(arguments: ConfigVectors.valid)
    func validConfigLoads(_ vector: ValidCase) throws {
        let config = try AgentConfiguration.load(path: ConfigVectors.path(vector.file))
        #expect(ConfigSummary(config) == vector.summary)
    }

    @Test(arguments: ConfigVectors.invalid)
    func invalidConfigFails(_ vector: InvalidCase) throws {
        let path = ConfigVectors.path(vector.file)
        let error = try #require(throws: ConfigError.self) { try AgentConfiguration.load(path: path) }
        #expect(error.source == path)
        #expect(error.line == vector.line, "\(error)")
        #expect(error.key == vector.key, "\(error)")
        #expect(error.description.contains(vector.contains), "\(error)")
        #expect(error.hint?.isEmpty == false, "\(error)")
        // The line prefix is what editors and people jump to.
        let prefix = vector.line.map { "\(path):\($0): " } ?? "\(path): "
        #expect(error.description.hasPrefix(prefix), "\(error)")
    }

    @Test func descriptionMatchesDocumentedFormat() throws {
        let vector = try #require(ConfigVectors.invalid.first { $0.file == "invalid/volume-owner-unknown.toml" })
        let path = ConfigVectors.path(vector.file)
        let error = try #require(throws: ConfigError.self) { try AgentConfiguration.load(path: path) }
        #expect(error.description == "\(path):\(vector.line ?? 0): volume.owner: \"d9\" is neither this node nor a [[peer]] (hint: add a [[peer]] named d9, or fix the name)")
    }

    @Test func parseUsesTheGivenSourceName() throws {
        let text = try String(contentsOfFile: ConfigVectors.path("valid-full.toml"), encoding: .utf8)
        let loaded = try AgentConfiguration.load(path: ConfigVectors.path("valid-full.toml"))
        #expect(try AgentConfiguration.parse(text, source: "inline") == loaded)
        let error = try #require(throws: ConfigError.self) {
            try AgentConfiguration.parse(text + "\nbogus = 1\n", source: "inline")
        }
        #expect(error.source == "inline")
        #expect(error.line == text.split(separator: "\n", omittingEmptySubsequences: false).count + 1)
    }

    @Test func lookupsFindByName() throws {
        let config = try AgentConfiguration.load(path: ConfigVectors.path("valid-full.toml"))
        #expect(config.peer(named: "d2")?.address == HostPort(host: "192.0.2.7", port: 7421))
        #expect(config.peer(named: "d0") == nil)
        #expect(config.volume(named: "pg")?.owner == "d1")
        #expect(config.volume(named: "nope") == nil)
    }

    @Test func missingFileIsNamed() {
        let path = "/nonexistent/barge.toml"
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.load(path: path) }
        #expect(error?.source == path)
        #expect(error?.line == nil)
        #expect(error?.description.hasPrefix("\(path): no such file") == true)
    }

    @Test func directoryIsRejected() {
        let error = #expect(throws: ConfigError.self) {
            try AgentConfiguration.load(path: ConfigVectors.directory.path)
        }
        #expect(error?.message.contains("directory") == true)
    }

    @Test func nonUTF8IsRejected() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("barge-config-\(UUID()).toml")
        try Data([0x5B, 0x6E, 0xFF, 0x5D]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.load(path: url.path) }
        #expect(error?.message.contains("UTF-8") == true)
    }

    /// A raw NUL would end the text early at the C boundary; it is reported instead.
    @Test func rawNULIsRejectedWithItsLine() {
        let text = "[node]\nname = \"d0\"\n\0\n[tls]\n"
        let error = #expect(throws: ConfigError.self) { try AgentConfiguration.parse(text, source: "t") }
        #expect(error?.line == 3)
        #expect(error?.message.contains("NUL") == true)
    }

    @Test func errorsCompareByValue() {
        let a = ConfigError(source: "f", line: 1, key: "k", message: "m", hint: nil)
        #expect(a == ConfigError(source: "f", line: 1, key: "k", message: "m", hint: nil))
        #expect(a != ConfigError(source: "f", line: 2, key: "k", message: "m", hint: nil))
        #expect(a.description == "f:1: k: m")
    }
}
