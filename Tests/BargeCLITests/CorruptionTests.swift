import Foundation
import Repository
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// testdata/cli/corruptions.json
struct Corruptions: Codable {
    struct Flip: Codable, Sendable, CustomTestStringConvertible {
        let name: String
        let blob: String
        let region: String
        var offset: Int?
        var fraction: Double?
        let restoreFails: Bool
        var testDescription: String { name }
    }
    struct IndexEdit: Codable, Sendable, CustomTestStringConvertible {
        let name: String
        let sql: String
        var testDescription: String { name }
    }
    let flips: [Flip]
    let indexEdits: [IndexEdit]

    static let file: Corruptions? = TestData.load("corruptions.json")
}

/// A store with snapshot A (the generated tree) and snapshot B (A plus
/// victim/victim.bin and victim/copy.bin, which share one chunk, victim/other.bin
/// and a new directory), and where their blobs sit in the packs.
final class DamageFixture {
    struct Location {
        let pack: Int
        let offset: Int
        let stored: Int
        var packName: String { String(format: "%08x.pack", pack) }
    }

    let ws: Workspace
    let volume: String
    let stateA: Manifest, stateB: Manifest
    let idA: String, idB: String
    /// Upper-case hex ids, as sqlite's hex() prints them.
    let victim: String, other: String, rootB: String

    init(_ label: String) throws {
        ws = try Workspace(label)
        volume = try ws.initStore()
        try TreeGenerator(seed: 5, bigFile: 256 << 10, sparseSize: 1 << 20).build(at: volume)
        stateA = try Manifest.capture(volume)
        idA = try #require(try ws.snapshot()["id"] as? String)
        var rng = SplitMix64(seed: 55)
        let victimBytes = rng.bytes(5000), otherBytes = rng.bytes(6000)
        try RawFS.mkdir(RawFS.bytes(volume + "/victim"))
        try RawFS.write(RawFS.bytes(volume + "/victim/victim.bin"), victimBytes)
        try RawFS.write(RawFS.bytes(volume + "/victim/copy.bin"), victimBytes)
        try RawFS.write(RawFS.bytes(volume + "/victim/other.bin"), otherBytes)
        try TreeGenerator.bulk(at: volume + "/extra", count: 3, size: 40_000, seed: 56)
        stateB = try Manifest.capture(volume)
        idB = try #require(try ws.snapshot()["id"] as? String)
        victim = BlobID.of(.chunk, victimBytes).hex.uppercased()
        other = BlobID.of(.chunk, otherBytes).hex.uppercased()
        rootB = try #require(try ws.sql("SELECT hex(root) FROM snapshot WHERE lower(hex(id)) = '\(idB)'").first?.first)
    }

    func location(_ hex: String) throws -> Location {
        let row = try #require(try ws.sql("SELECT pack, offset, stored_length FROM blob WHERE hex(id) = '\(hex)'").first,
                               "blob \(hex) has a row")
        return Location(pack: Int(row[0]) ?? -1, offset: Int(row[1]) ?? -1, stored: Int(row[2]) ?? -1)
    }

    func packPath(_ location: Location) -> String { ws.state + "/packs/" + location.packName }

    /// XORs one byte of a file with 0xFF.
    func flip(_ path: String, at offset: Int) throws {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        try #require(fd >= 0, "open \(path)")
        defer { close(fd) }
        var byte: UInt8 = 0
        try #require(pread(fd, &byte, 1, off_t(offset)) == 1, "\(path) has a byte at \(offset)")
        byte ^= 0xFF
        try #require(pwrite(fd, &byte, 1, off_t(offset)) == 1)
    }

    /// Restoring B fails with exit 1 and leaves neither target nor staging directory.
    func expectRestoreOfBFails(_ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let target = ws.path("restores/b-\(UUID().uuidString.prefix(6))")
        let run = try ws.barge("restore", "v", "--snapshot", idB, "--target", target)
        #expect(run.status == 1, "\(context): \(run)", sourceLocation: sourceLocation)
        #expect(!ws.exists(target), "\(context): no target after a failed restore", sourceLocation: sourceLocation)
        #expect(ws.list(ws.path("restores")).filter { $0.hasPrefix(".barge") }.isEmpty,
                "\(context): no staging directory remains", sourceLocation: sourceLocation)
    }

    /// Snapshot `id` restores byte-exact to `state`.
    func expectRestores(_ id: String, _ state: Manifest, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let target = ws.path("restores/ok-\(UUID().uuidString.prefix(6))")
        let run = try ws.barge("restore", "v", "--snapshot", id, "--target", target)
        try #require(run.status == 0, "\(context): \(run)", sourceLocation: sourceLocation)
        try expectSameTree(state, target, context, sourceLocation: sourceLocation)
    }

    /// The `damaged` entries of `verify --read-data --json`, requiring exit 1.
    func damage(_ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (report: [String: Any], damaged: [[String: Any]]) {
        let run = try ws.barge("verify", "--read-data", "--json")
        #expect(run.status == 1, "\(context): verify must report the damage: \(run)", sourceLocation: sourceLocation)
        let report = try run.object()
        #expect(report["ok"] as? Bool == false, "\(context)", sourceLocation: sourceLocation)
        return (report, report["damaged"] as? [[String: Any]] ?? [])
    }
}

@Suite struct CorruptionTests {
    @Test func vectorsLoad() {
        #expect((Corruptions.file?.flips.count ?? 0) >= 8 && (Corruptions.file?.indexEdits.count ?? 0) >= 3,
                "testdata/cli/corruptions.json loads")
    }

    @Test(arguments: Corruptions.file?.flips ?? [])
    func flippedPackByte(_ flip: Corruptions.Flip) throws {
        let fixture = try DamageFixture("flip")
        let ws = fixture.ws
        try RawFS.mkdir(RawFS.bytes(ws.path("restores")))
        let id = flip.blob == "tree" ? fixture.rootB : fixture.victim
        let location = try fixture.location(id)
        let position: Int
        switch flip.region {
        case "header": position = location.offset + (flip.offset ?? 0)
        case "payload": position = location.offset + 48 + min(location.stored - 1, Int(Double(location.stored) * (flip.fraction ?? 0)))
        default: position = flip.offset ?? 0
        }
        try fixture.flip(fixture.packPath(location), at: position)

        let (report, damaged) = try fixture.damage(flip.name)
        if flip.region == "file" {
            let text = String(describing: report)
            #expect(text.contains(location.packName), "the report names the pack: \(report)")
        } else {
            let entry = try #require(damaged.first { ($0["blob"] as? String)?.uppercased() == id }, "\(flip.name): the damaged blob is named: \(report)")
            #expect(entry["pack"] as? String == location.packName)
            #expect(entry["kind"] as? String == flip.blob)
            #expect(!(entry["error"] as? String ?? "").isEmpty)
            let snapshots = entry["snapshots"] as? [String] ?? []
            #expect(snapshots.contains(fixture.idB) && !snapshots.contains(fixture.idA), "only B uses it: \(entry)")
            let paths = Set(entry["paths"] as? [String] ?? [])
            let expected: Set<String> = flip.blob == "tree" ? ["v:."] : ["v:victim/victim.bin", "v:victim/copy.bin"]
            #expect(paths == expected, "the affected paths: \(entry)")
            #expect(damaged.count == 1, "nothing else is damaged: \(damaged)")
        }
        if flip.region == "header" {
            let plain = try ws.barge("verify")
            #expect(plain.status == 1, "header damage is seen without --read-data: \(plain)")
        }
        if flip.restoreFails { try fixture.expectRestoreOfBFails(flip.name) }
        try fixture.expectRestores(fixture.idA, fixture.stateA, "\(flip.name): snapshot A does not use the damaged blob")
    }

    @Test(arguments: Corruptions.file?.indexEdits ?? [])
    func editedIndexRowIsFoundAndRepaired(_ edit: Corruptions.IndexEdit) throws {
        let fixture = try DamageFixture("index")
        let ws = fixture.ws
        try RawFS.mkdir(RawFS.bytes(ws.path("restores")))
        _ = try ws.sql(edit.sql.replacingOccurrences(of: "{victim}", with: fixture.victim)
            .replacingOccurrences(of: "{other}", with: fixture.other))

        let (report, damaged) = try fixture.damage(edit.name)
        #expect(damaged.contains { ($0["blob"] as? String)?.uppercased() == fixture.victim }, "the victim chunk is named: \(report)")
        try fixture.expectRestoreOfBFails(edit.name)
        try fixture.expectRestores(fixture.idA, fixture.stateA, "\(edit.name): snapshot A")

        let repair = try ws.ok("repair-index", "--json").object()
        #expect(repair["snapshots"] as? Int == 2, "\(repair)")
        #expect(!(repair["old_index"] as? String ?? "").isEmpty, "the old index is kept: \(repair)")
        let verify = try ws.barge("verify", "--read-data", "--json")
        #expect(verify.status == 0, "\(edit.name): after repair-index: \(verify)")
        try fixture.expectRestores(fixture.idB, fixture.stateB, "\(edit.name): snapshot B after repair-index")
    }

    @Test func truncatedPackIsFound() throws {
        let fixture = try DamageFixture("truncate")
        let ws = fixture.ws
        try RawFS.mkdir(RawFS.bytes(ws.path("restores")))
        let location = try fixture.location(fixture.victim)
        // Cut inside the victim's payload: it and every later record of the pack (B's) are gone.
        try #require(truncate(fixture.packPath(location), off_t(location.offset + 48 + 100)) == 0)

        let (report, damaged) = try fixture.damage("truncated pack")
        #expect((report["notes"] as? [String] ?? []).contains { $0.contains(location.packName) && $0.contains("truncated") }, "\(report)")
        #expect(damaged.contains { ($0["blob"] as? String)?.uppercased() == fixture.victim }, "\(report)")
        #expect(damaged.allSatisfy { ($0["snapshots"] as? [String] ?? []).allSatisfy { $0 != fixture.idA } }, "A is intact: \(damaged)")
        try fixture.expectRestoreOfBFails("truncated pack")
        try fixture.expectRestores(fixture.idA, fixture.stateA, "truncated pack: snapshot A")
    }

    /// A pack that lost its tail (here: the last record, B's snapshot record)
    /// is shorter than its committed size. The next snapshot must not reuse
    /// it in a way that destroys the records that are still intact.
    @Test func aSnapshotAfterATruncatedPackKeepsItsIntactRecords() throws {
        let fixture = try DamageFixture("truncate-tail")
        let ws = fixture.ws
        try RawFS.mkdir(RawFS.bytes(ws.path("restores")))
        let location = try fixture.location(fixture.victim)
        let path = fixture.packPath(location)
        let size = try #require(RawFS.lstat(RawFS.bytes(path))).st_size
        try #require(truncate(path, size - 10) == 0)
        let (_, damaged) = try fixture.damage("pack missing its last 10 bytes")
        #expect(damaged.map { $0["kind"] as? String } == ["snapshot"], "only B's snapshot record is cut: \(damaged)")
        try fixture.expectRestores(fixture.idB, fixture.stateB, "B's trees and chunks are intact")

        var rng = SplitMix64(seed: 77)
        try RawFS.write(RawFS.bytes(fixture.volume + "/after-truncation.bin"), rng.bytes(20_000))
        let state = try Manifest.capture(fixture.volume)
        let packBefore = try #require(FileManager.default.contents(atPath: path))
        let run = try ws.barge("snapshot", "v", "--json")
        #expect(run.status == 0 || run.status == 1, "\(run)")
        #expect(FileManager.default.contents(atPath: path) == packBefore, "the short pack is left as it was (\(run))")
        try fixture.expectRestores(fixture.idA, fixture.stateA, "snapshot A after a snapshot was written beside the short pack")
        try fixture.expectRestores(fixture.idB, fixture.stateB, "snapshot B after a snapshot was written beside the short pack")
        if run.status == 0, let id = try run.object()["id"] as? String {
            try fixture.expectRestores(id, state, "the new snapshot")
        }
    }

    @Test func repairIndexRebuildsADeletedIndex() throws {
        let fixture = try DamageFixture("repair")
        let ws = fixture.ws
        try RawFS.mkdir(RawFS.bytes(ws.path("restores")))
        let before = try ws.ok("snapshots", "v", "--json").array()
        for suffix in ["", "-wal", "-shm"] { try? RawFS.removeTree(ws.state + "/index.sqlite" + suffix) }

        let broken = try ws.barge("snapshots", "v")
        #expect(broken.status == 1 && broken.stderr.contains("repair-index"), "the error points at repair-index: \(broken)")
        let repair = try ws.ok("repair-index", "--json").object()
        #expect(repair["snapshots"] as? Int == 2 && repair["volumes"] as? Int == 1 && repair["skipped_records"] as? Int == 0, "\(repair)")

        let after = try ws.ok("snapshots", "v", "--json").array()
        for key in ["id", "parent", "state", "time", "files", "bytes_total"] {
            #expect(after.map { String(describing: $0[key] ?? "nil") } == before.map { String(describing: $0[key] ?? "nil") },
                    "snapshots keep their \(key)")
        }
        let volumes = try ws.ok("volume", "list", "--json").array()
        #expect(volumes.first?["name"] as? String == "v" && volumes.first?["path"] as? String == fixture.volume
                && volumes.first?["chunk_size"] as? Int == 65536, "\(volumes)")
        let verify = try ws.barge("verify", "--read-data", "--json")
        #expect(verify.status == 0, "\(verify)")
        try fixture.expectRestores(fixture.idA, fixture.stateA, "snapshot A from the rebuilt index")
        try fixture.expectRestores(fixture.idB, fixture.stateB, "snapshot B from the rebuilt index")
        let diff = try ws.ok("diff", "v", "--json").object()
        #expect(Set(diff["added"] as? [String] ?? []).isSuperset(of: ["victim", "victim/victim.bin", "extra"]), "\(diff)")

        // And the store keeps working: a new snapshot, verified and restored.
        var rng = SplitMix64(seed: 88)
        try RawFS.write(RawFS.bytes(fixture.volume + "/later.bin"), rng.bytes(300_000))
        let state = try Manifest.capture(fixture.volume)
        let id = try #require(try ws.snapshot()["id"] as? String)
        try fixture.expectRestores(id, state, "a snapshot taken on the rebuilt index")
        #expect(try ws.barge("verify", "--read-data").status == 0)
    }
}
