import Foundation
import Testing
import TestSupport
import Repository
@testable import Snapshots

/// Restore's three stages with more files than may be open at once (256):
/// the walking thread waits for files to close, and a bad chunk met there
/// stops everything cleanly.
@Suite struct RestoreSinkTests {
    @Test(arguments: [false, true])
    func manyFilesRestoreOrFailCleanly(_ corrupt: Bool) throws {
        let fixture = try Fixture()
        let contents = (0..<700).map { randomBytes(2000 + $0, seed: UInt64($0)) }
        for (index, bytes) in contents.enumerated() { try fixture.write("d\(index / 100)/f\(index)", bytes) }
        _ = try fixture.engine.snapshot(volume: "v")
        if corrupt {
            let store = try Store(at: fixture.state, access: .read)
            let location = try #require(try store.index.locations(of: [BlobID.of(.chunk, contents[500])]).values.first)
            let fd = open(store.packPath(location.pack), O_RDWR)
            defer { close(fd) }
            var byte: UInt8 = 0
            let offset = off_t(location.offset + PackFormat.headerLength + location.storedLength / 2)
            #expect(pread(fd, &byte, 1, offset) == 1)
            byte ^= 0xFF
            #expect(pwrite(fd, &byte, 1, offset) == 1)
        }
        let target = fixture.root + "/restored"
        do {
            _ = try fixture.engine.restore(volume: "v", .latest, subpath: nil, target: target)
            #expect(!corrupt, "a flipped chunk must fail the restore")
            for (index, bytes) in contents.enumerated() {
                #expect(fixture.read(target + "/d\(index / 100)/f\(index)") == bytes)
            }
        } catch let error as RepositoryError {
            #expect(corrupt, "\(error)")
            #expect(error.code == .corrupt && error.message.contains("f500"), "\(error)")
            #expect(!FileManager.default.fileExists(atPath: target), "no half-written target")
            let left = try FileManager.default.contentsOfDirectory(atPath: fixture.root).filter { $0.hasPrefix(".barge-restore") }
            #expect(left.isEmpty, "no staging directory left: \(left)")
        }
    }
}
