import Foundation
import Testing
import TestSupport
import Repository
@testable import Snapshots

/// A live volume rolled back by changing only what differs: the result equals
/// the snapshot, a database-like file is patched where it lies, and the mark
/// that guards the pass is gone afterwards.
@Suite struct RollbackTests {
    @Test func rollingBackAndForwardChangesOnlyWhatDiffers() throws {
        let fixture = try Fixture()
        let store = try Store(at: fixture.state, access: .write)
        var db = randomBytes(4 << 20, seed: 81)
        try fixture.write("db.bin", db)
        try fixture.write("docs/a.txt", Array("first".utf8))
        try fixture.write("gone/b.txt", Array("will go".utf8))
        try FileManager.default.createSymbolicLink(atPath: fixture.volume + "/link", withDestinationPath: "docs/a.txt")
        let first = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        let firstDB = db

        // Pages rewritten where they lie, a file changed, one added, a directory removed, a link retargeted.
        for page in [3, 400, 777] { db.replaceSubrange(page * 4096..<(page + 1) * 4096, with: randomBytes(4096, seed: UInt64(page))) }
        let handle = try #require(FileHandle(forWritingAtPath: fixture.volume + "/db.bin"))
        for page in [3, 400, 777] {
            try handle.seek(toOffset: UInt64(page * 4096))
            handle.write(Data(db[page * 4096..<(page + 1) * 4096]))
        }
        try handle.close()
        try fixture.write("docs/a.txt", Array("second".utf8))
        try fixture.write("docs/new.txt", Array("new".utf8))
        try FileManager.default.removeItem(atPath: fixture.volume + "/gone")
        try FileManager.default.removeItem(atPath: fixture.volume + "/link")
        try FileManager.default.createSymbolicLink(atPath: fixture.volume + "/link", withDestinationPath: "docs/new.txt")
        let second = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)

        let back = try fixture.engine.rollBack(volume: "v", .id(first.id.hex), in: store, epoch: 0)
        #expect(fixture.read(fixture.volume + "/db.bin") == firstDB)
        #expect(fixture.read(fixture.volume + "/docs/a.txt") == Array("first".utf8))
        #expect(fixture.read(fixture.volume + "/gone/b.txt") == Array("will go".utf8))
        #expect(!FileManager.default.fileExists(atPath: fixture.volume + "/docs/new.txt"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fixture.volume + "/link") == "docs/a.txt")
        #expect(back.statistics.filesPatchedInPlace == 1, "\(back.statistics)")
        #expect(back.statistics.bytesWritten < 1 << 20, "only the changed pages and small files: \(back.statistics)")
        #expect(try store.index.rollbackMark(of: "v") == nil)
        let pre = try #require(try store.index.snapshot(back.preRestore))
        #expect(pre.record.state == "pre-restore" && pre.record.root == second.record.root, "the pre-restore snapshot is the state replaced")

        // Forward again, to the state replaced: equal to a fresh restore of it.
        _ = try fixture.engine.rollBack(volume: "v", .id(back.preRestore.hex), in: store, epoch: 0)
        #expect(fixture.read(fixture.volume + "/db.bin") == db)
        #expect(fixture.read(fixture.volume + "/docs/new.txt") == Array("new".utf8))
        #expect(!FileManager.default.fileExists(atPath: fixture.volume + "/gone"))
        let again = try fixture.engine.snapshot(volume: "v", in: store, epoch: 0)
        #expect(again.record.root != first.record.root)
        #expect(try fixture.engine.verify(readData: true).ok)
    }
}
