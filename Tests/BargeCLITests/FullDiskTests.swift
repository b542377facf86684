import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs as the state directory, so the store really runs out of space.
enum SmallFileSystem {
    /// Mounting needs root (CAP_SYS_ADMIN); the test machines have it.
    static let available: Bool = {
        guard geteuid() == 0 else { return false }
        let probe = "/tmp/barge-tmpfs-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mount("tmpfs", probe, "tmpfs", 0, "size=1m") == 0 else { return false }
        umount(probe)
        return true
    }()
}

@Suite(.serialized) struct FullDiskTests {
    /// ENOSPC in the middle of a snapshot: a clear error, exit 1; the earlier
    /// snapshot still verifies and restores exactly; once space is back, the
    /// store takes new snapshots and gc reclaims the interrupted write.
    @Test(.enabled(if: SmallFileSystem.available, "needs root to mount a tmpfs"))
    func fullDiskLeavesCommittedSnapshotsIntact() throws {
        let ws = try Workspace("fulldisk")
        try FileManager.default.createDirectory(atPath: ws.state, withIntermediateDirectories: true)
        try #require(mount("tmpfs", ws.state, "tmpfs", 0, "size=6m") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { umount2(ws.state, Int32(MNT_DETACH)) }

        let volume = try ws.initStore()
        let small = randomBytes(200_000, seed: 1)
        try Data(small).write(to: URL(fileURLWithPath: volume + "/small.bin"))
        let first = try ws.snapshot()
        let firstID = try #require(first["id"] as? String)

        try Data(randomBytes(24 << 20, seed: 2)).write(to: URL(fileURLWithPath: volume + "/big.bin"))
        let full = try ws.barge("snapshot", "v")
        #expect(full.status == 1, "\(full)")
        #expect(full.stderr.contains("No space left") || full.stderr.contains("full"), "\(full)")

        let verify = try ws.barge("verify", "--read-data")
        #expect(verify.status == 0, "\(verify)")
        let list = try ws.ok("snapshots", "v", "--json").array()
        #expect(list.map { $0["id"] as? String } == [firstID], "the failed snapshot left no row")
        try ws.ok("restore", "v", "--snapshot", firstID, "--target", ws.path("restored"))
        #expect(FileManager.default.contents(atPath: ws.path("restored/small.bin")) == Data(small))

        try FileManager.default.removeItem(atPath: volume + "/big.bin")
        try ws.ok("gc")
        try Data(randomBytes(300_000, seed: 3)).write(to: URL(fileURLWithPath: volume + "/more.bin"))
        _ = try ws.snapshot()
        #expect(try ws.barge("verify", "--read-data").status == 0)
    }
}
