import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `barge volume add` refuses a path a snapshot could not sensibly store: the
/// root, the state directory or anything holding or inside it, and a path
/// overlapping another volume, also under another name (issue 11, findings 1
/// and 3). The messages are the ones docs/operations.md shows.
@Suite struct VolumeAddTests {
    /// Runs `volume add` and requires the documented refusal, word for word, and an unchanged volume list.
    private func expectRefusal(_ ws: Workspace, _ name: String, _ path: String, _ message: String, hint: String,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try ws.ok("volume", "list", "--json").out
        let run = try ws.barge("volume", "add", name, path)
        #expect(run.status == 1, "\(run)", sourceLocation: sourceLocation)
        #expect(run.stderr == "barge: error: \(message)\n  hint: \(hint)\n", sourceLocation: sourceLocation)
        #expect(run.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(try ws.ok("volume", "list", "--json").out == before, "nothing was added", sourceLocation: sourceLocation)
    }

    static let stateHint = "a snapshot must not hold barge's own store: keep volumes and the state directory apart"
    static let overlapHint = "volumes must not overlap; give each its own directory"

    @Test func theRootAndTheStoreAreRefused() throws {
        let ws = try Workspace("volume-store")
        try ws.ok("init")
        let state = ws.state
        try expectRefusal(ws, "y", "/", "the root directory cannot be a volume",
                          hint: "name the directory that holds the state, e.g. \"/media/state/y\"")
        try expectRefusal(ws, "x", state, "\"\(state)\" is the state directory \(state)", hint: Self.stateHint)
        try expectRefusal(ws, "r", state + "/packs", "\"\(state)/packs\" is inside the state directory \(state)", hint: Self.stateHint)
        try expectRefusal(ws, "p", ws.root, "\"\(ws.root)\" contains the state directory \(state)", hint: Self.stateHint)
        // A relative path is taken from the current directory (the workspace) first.
        try expectRefusal(ws, "rel", "state/packs", "\"\(state)/packs\" is inside the state directory \(state)", hint: Self.stateHint)

        try FileManager.default.createSymbolicLink(atPath: ws.path("stlink"), withDestinationPath: "state")
        try expectRefusal(ws, "s", ws.path("stlink"),
                          "\"\(ws.path("stlink"))\" is the state directory \(state) (after resolving symlinks: \"\(state)\" and \"\(state)\")",
                          hint: Self.stateHint)
        try FileManager.default.createSymbolicLink(atPath: ws.path("rootlink"), withDestinationPath: "/")
        try expectRefusal(ws, "rl", ws.path("rootlink"), "\"\(ws.path("rootlink"))\" resolves to the root directory, which cannot be a volume",
                          hint: "name the directory that holds the state, e.g. \"/media/state/rl\"")
        try expectRefusal(ws, "m", ws.path("missing"), "\"\(ws.path("missing"))\" is not an existing directory",
                          hint: "create it first, or check the spelling")
        try Data("x".utf8).write(to: URL(fileURLWithPath: ws.path("file")))
        try expectRefusal(ws, "f", ws.path("file"), "\"\(ws.path("file"))\" is not a directory",
                          hint: "a volume is a directory: name the one that holds the state")
    }

    @Test func overlappingVolumesAreRefusedUnderAnyName() throws {
        let ws = try Workspace("volume-overlap")
        let vol = try ws.initStore(volume: "a", at: "vol")
        try FileManager.default.createDirectory(atPath: vol + "/sub", withIntermediateDirectories: true)
        try expectRefusal(ws, "b", vol, "\"\(vol)\" is also the path of volume \"a\" (\"\(vol)\")", hint: Self.overlapHint)
        try expectRefusal(ws, "b", vol + "/sub", "\"\(vol)/sub\" is inside the path of volume \"a\" (\"\(vol)\")", hint: Self.overlapHint)

        try FileManager.default.createSymbolicLink(atPath: ws.path("vollink"), withDestinationPath: vol)
        try expectRefusal(ws, "b", ws.path("vollink"),
                          "\"\(ws.path("vollink"))\" is also the path of volume \"a\" (\"\(vol)\") (after resolving symlinks: \"\(vol)\" and \"\(vol)\")",
                          hint: Self.overlapHint)

        // A parent added after its child is refused too, and a sibling is fine.
        try FileManager.default.createDirectory(atPath: ws.path("outer/inner"), withIntermediateDirectories: true)
        try ws.ok("volume", "add", "inner", ws.path("outer/inner"))
        try expectRefusal(ws, "outer", ws.path("outer"),
                          "\"\(ws.path("outer"))\" contains the path of volume \"inner\" (\"\(ws.path("outer/inner"))\")", hint: Self.overlapHint)
        try FileManager.default.createDirectory(atPath: ws.path("vol2"), withIntermediateDirectories: true)
        try ws.ok("volume", "add", "b", ws.path("vol2"))

        // A bind mount is another name no symlink explains: device and inode tell.
        guard BindMounts.arePossible else { return }
        try FileManager.default.createDirectory(atPath: ws.path("bound"), withIntermediateDirectories: true)
        try #require(mount(vol, ws.path("bound"), nil, UInt(MS_BIND), nil) == 0, "mount --bind: \(String(cString: strerror(errno)))")
        defer { umount2(ws.path("bound"), Int32(MNT_DETACH)) }
        try expectRefusal(ws, "c", ws.path("bound/sub"),
                          "\"\(ws.path("bound/sub"))\" is inside the path of volume \"a\" (\"\(vol)\")"
                          + " (by device and inode, e.g. through a bind mount: \"\(ws.path("bound/sub"))\" and \"\(vol)\")",
                          hint: Self.overlapHint)
    }
}

/// Whether this process may bind-mount, found by trying once.
enum BindMounts {
    static let arePossible: Bool = {
        guard geteuid() == 0 else { return false }
        let probe = "/tmp/barge-bind-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mount(probe, probe, nil, UInt(MS_BIND), nil) == 0 else { return false }
        umount2(probe, Int32(MNT_DETACH))
        return true
    }()
}
