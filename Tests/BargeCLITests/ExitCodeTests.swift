import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// One row of testdata/cli/exit-codes.json.
struct ExitCase: Codable, Sendable, CustomTestStringConvertible {
    let name: String
    let args: [String]
    let status: Int32
    let stderr: String
    var testDescription: String { name }

    struct File: Codable { let cases: [ExitCase] }
    static let all: [ExitCase] = TestData.load("exit-codes.json", as: File.self)?.cases ?? []
}

/// Whether barge can be run without the capabilities that let root read
/// anything: util-linux setpriv drops them from the bounding set.
enum Unprivileged {
    static let setpriv = "/usr/bin/setpriv"
    static var wrapper: [String] {
        geteuid() == 0
            ? [setpriv, "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]
            : []
    }
    static let available = geteuid() != 0 || FileManager.default.isExecutableFile(atPath: setpriv)
}

@Suite struct ExitCodeTests {
    @Test func vectorsLoad() {
        #expect(ExitCase.all.count >= 20, "testdata/cli/exit-codes.json loads")
    }

    @Test(arguments: ExitCase.all)
    func exitStatus(_ vector: ExitCase) throws {
        let ws = try Workspace("exit")
        let volume = try ws.initStore()
        try RawFS.write(RawFS.bytes(volume + "/docs"), RawFS.bytes("hello"))
        _ = try ws.snapshot()
        try RawFS.write(RawFS.bytes(ws.path("a-file")), RawFS.bytes("not a directory"))
        let target = ws.path("target")
        let args = vector.args.map {
            $0.replacingOccurrences(of: "{vol}", with: volume).replacingOccurrences(of: "{target}", with: target)
                .replacingOccurrences(of: "{ws}", with: ws.root)
        }
        let snapshotsBefore = try ws.sql("SELECT count(*) FROM snapshot")
        let run = try ws.barge(args)
        #expect(run.status == vector.status, "\(run)")
        #expect(run.stderr.contains(vector.stderr), "stderr names the problem (\(vector.stderr)): \(run)")
        #expect(run.stdout.isEmpty, "errors go to stderr only: \(run)")
        #expect(!ws.exists(target), "a failed command creates no target")
        #expect(ws.list(ws.root).filter { $0.hasPrefix(".barge") }.isEmpty, "no staging directory remains")
        #expect(try ws.sql("SELECT count(*) FROM snapshot") == snapshotsBefore, "no snapshot was added")
        #expect(try ws.sql("SELECT name FROM volume") == [["v"]], "volumes are unchanged")
    }

    /// Root reads mode-000 files, so barge runs with CAP_DAC_OVERRIDE and
    /// CAP_DAC_READ_SEARCH dropped (setpriv): a real unreadable file and
    /// directory, as an unprivileged agent would meet them.
    @Test(.enabled(if: Unprivileged.available, "needs /usr/bin/setpriv to drop root's read-anything capabilities"))
    func unreadableEntriesAreSkippedWithExit3() throws {
        let ws = try Workspace("skip")
        let volume = try ws.initStore()
        try TreeGenerator(seed: 3, bigFile: 100_000, sparseSize: 1 << 20).build(at: volume)
        var expected = try Manifest.capture(volume)
        var rng = SplitMix64(seed: 33)
        try RawFS.write(RawFS.bytes(volume + "/locked-file"), rng.bytes(1000), mode: 0o000)
        try RawFS.mkdir(RawFS.bytes(volume + "/locked-dir"))
        try RawFS.write(RawFS.bytes(volume + "/locked-dir/inside"), rng.bytes(1000))
        try RawFS.chmod(RawFS.bytes(volume + "/locked-dir"), 0o000)
        try RawFS.chmod(RawFS.bytes(volume + "/locked-file"), 0o000)
        expected.entries[[]]?.mtime = try #require(RawFS.lstat(RawFS.bytes(volume))).st_mtim.nanoseconds

        let run = try ws.barge(["snapshot", "v", "--json"], wrapper: Unprivileged.wrapper)
        #expect(run.status == 3, "some files were skipped: \(run)")
        let report = try run.object()
        let skipped = (report["skipped"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }.sorted()
        #expect(skipped == ["locked-dir", "locked-file"], "\(report)")
        #expect((report["skipped"] as? [[String: Any]] ?? []).allSatisfy { ($0["error"] as? String ?? "").contains("denied") })
        let id = try #require(report["id"] as? String)

        let list = try ws.ok("snapshots", "v", "--json").array()
        #expect(list.map { $0["id"] as? String } == [id], "the snapshot is committed despite the skips")
        try ws.ok("restore", "v", "--target", ws.path("restored"))
        try expectSameTree(expected, ws.path("restored"), "everything but the skipped entries")

        // Plain output: the id on stdout, the skipped paths on stderr, still exit 3.
        let plain = try ws.barge(["snapshot", "v"], wrapper: Unprivileged.wrapper)
        #expect(plain.status == 3 && plain.out.trimmingCharacters(in: .whitespacesAndNewlines).count == 64, "\(plain)")
        #expect(plain.stderr.contains("locked-file") && plain.stderr.contains("locked-dir"), "\(plain)")
    }

    @Test func stateDirOptionWinsOverTheEnvironment() throws {
        let ws = try Workspace("statedir")
        let other = ws.path("other-state")
        try ws.ok("--state-dir", other, "init")
        #expect(ws.exists(other + "/index.sqlite") && ws.exists(other + "/packs"))
        #expect(!ws.exists(ws.state), "BARGE_STATE_DIR was not used")
        try FileManager.default.createDirectory(atPath: ws.path("vol"), withIntermediateDirectories: true)
        try ws.ok("volume", "add", "x", ws.path("vol"), "--state-dir", other, "--chunk-size", "16KiB")
        let volumes = try ws.ok("--state-dir=\(other)", "volume", "list", "--json").array()
        #expect(volumes.count == 1 && volumes.first?["name"] as? String == "x" && volumes.first?["chunk_size"] as? Int == 16384,
                "\(volumes)")
        #expect(volumes.first?["path"] as? String == ws.path("vol"))
        let missing = try ws.barge("volume", "list")
        #expect(missing.status == 1 && missing.stderr.contains(ws.state), "the environment's store is missing: \(missing)")

        try ws.ok("--state-dir", other, "volume", "remove", "x")
        #expect(try ws.ok("--state-dir", other, "volume", "list", "--json").array().isEmpty)
    }
}
