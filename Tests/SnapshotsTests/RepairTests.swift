import Foundation
import Testing
import TestSupport
import Repository
@testable import Snapshots

@Suite struct RepairTests {
    /// Flips one byte in the middle of the stored record of `id`.
    /// Flips one bit of the blob's stored bytes, from the middle on, until reading it fails: in an
    /// lz4 block a flipped bit of a match offset can copy equal bytes and change nothing.
    func damage(_ id: BlobID, in fixture: Fixture) throws {
        let store = try Store(at: fixture.state, access: .read)
        let location = try #require(try store.index.location(of: id))
        let handle = try #require(FileHandle(forUpdatingAtPath: store.packPath(location.pack)))
        defer { try? handle.close() }
        for step in 0..<location.storedLength {
            let offset = UInt64(location.offset + PackFormat.headerLength + (location.storedLength / 2 + step) % location.storedLength)
            try handle.seek(toOffset: offset)
            let byte = try #require(try handle.read(upToCount: 1))
            try handle.seek(toOffset: offset)
            handle.write(Data([byte[0] ^ 0x01]))
            if (try? store.read(location, using: Decompressor())) == nil { return }
            try handle.seek(toOffset: offset)
            handle.write(byte)
        }
        Issue.record("no one-bit flip of \(id.short) made it unreadable")
    }

    /// A damaged chunk is found, dropped with --repair, and stored again by a
    /// snapshot that re-reads the live file; the damaged snapshot stays unrestorable.
    @Test func damagedChunkIsHealedFromTheLiveData() throws {
        let fixture = try Fixture()
        let content = randomBytes(200_000, seed: 5)
        try fixture.write("f", content)
        let first = try fixture.engine.snapshot(volume: "v")
        let tree = try fixture.tree(first.record.root)
        let chunk = try #require(tree.entry(named: Array("f".utf8))?.chunks.first?.id)
        try damage(chunk, in: fixture)

        let report = try fixture.engine.verify(readData: true, repair: true)
        #expect(!report.ok)
        #expect(report.damaged.contains { $0.blob == chunk.hex && $0.paths == ["v:f"] })
        #expect(report.dropped >= 1)

        let healed = try fixture.engine.snapshot(volume: "v", rehash: true)
        #expect(healed.statistics.filesRead == 1)
        // Same content, same id: the first snapshot is whole again too.
        #expect(try fixture.engine.verify(readData: true).ok)
        for (index, id) in [first.id, healed.id].enumerated() {
            _ = try fixture.engine.restore(volume: "v", .id(id.hex), subpath: nil, target: fixture.root + "/r\(index)")
            #expect(fixture.read(fixture.root + "/r\(index)/f") == content)
        }
    }

    /// A parent snapshot whose tree cannot be read does not block new snapshots.
    @Test func unreadableParentTreeFallsBackToAFullScan() throws {
        let fixture = try Fixture()
        try fixture.write("a/f", randomBytes(50_000, seed: 6))
        let first = try fixture.engine.snapshot(volume: "v")
        try damage(first.record.root, in: fixture)
        let second = try fixture.engine.snapshot(volume: "v")
        #expect(second.statistics.filesRead == 1)
        _ = try fixture.engine.restore(volume: "v", .id(second.id.hex), subpath: nil, target: fixture.root + "/r")
        #expect(fixture.read(fixture.root + "/r/a/f") == randomBytes(50_000, seed: 6))
    }
}
