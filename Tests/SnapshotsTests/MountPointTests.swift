import Foundation
import Testing
import TestSupport
import Repository
@testable import Snapshots

/// A snapshot stays on the volume's file system unless the volume says
/// otherwise: a tmpfs mounted inside it is recorded as an empty directory
/// (and reported), or included with `--cross-mounts`. Needs a machine where
/// this process may mount (root with CAP_SYS_ADMIN); elsewhere it is skipped.
@Suite(.enabled(if: Mounting.isPossible, "mounting a tmpfs needs root with CAP_SYS_ADMIN"))
struct MountPointTests {
    @Test(arguments: [false, true])
    func aMountedFileSystemIsCrossedOnlyWhenAsked(_ crossMounts: Bool) throws {
        let fixture = try Fixture()
        try fixture.write("a/before", [1, 2, 3])
        try fixture.write("z/after", [4, 5, 6])
        let mountPoint = fixture.volume + "/m"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        try Mounting.run(["mount", "-t", "tmpfs", "-o", "size=1m", "barge-test", mountPoint])
        defer { try? Mounting.run(["umount", mountPoint]) }
        try fixture.write("m/inside/file", Array("on the other file system".utf8))

        do {
            let store = try Store(at: fixture.state, access: .write)
            try store.index.addVolume(VolumeRecord(name: "w", path: fixture.volume, chunkAverage: 16384, crossMounts: crossMounts))
        }
        let outcome = try fixture.engine.snapshot(volume: "w")
        let root = try fixture.tree(outcome.record.root)
        let mounted = try #require(root.entry(named: Array("m".utf8)))
        let inside = try fixture.tree(try #require(mounted.subtree))
        if crossMounts {
            #expect(outcome.problems.isEmpty)
            #expect(inside.entry(named: Array("inside".utf8)) != nil)
        } else {
            #expect(inside.entries.isEmpty, "the mount point is recorded as an empty directory")
            #expect(outcome.problems.map(\.path) == ["m"])
            #expect(outcome.problems.first?.message.contains("--cross-mounts") == true)
        }
        // Whatever the mount, the directories on either side of it are whole.
        #expect(root.entry(named: Array("a".utf8))?.subtree != nil && root.entry(named: Array("z".utf8))?.subtree != nil)
        let target = fixture.root + "/restored"
        _ = try fixture.engine.restore(volume: "w", .latest, subpath: nil, target: target)
        #expect(fixture.read(target + "/z/after") == [4, 5, 6])
        #expect(FileManager.default.fileExists(atPath: target + "/m/inside/file") == crossMounts)
    }
}

/// Whether this process may mount a tmpfs, found by trying once.
enum Mounting {
    static let isPossible: Bool = {
        guard getuid() == 0 else { return false }
        let probe = NSTemporaryDirectory() + "barge-mount-probe-" + UUID().uuidString
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: false)) != nil else { return false }
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard (try? run(["mount", "-t", "tmpfs", "-o", "size=64k", "barge-probe", probe])) != nil else { return false }
        return (try? run(["umount", probe])) != nil
    }()

    static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw RepositoryError(.io, "\(arguments.joined(separator: " ")) failed") }
    }
}
