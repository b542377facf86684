import AgentConfig
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The volume rule on a real file system: symlinks, missing directories and a
/// bind mount must not hide a volume that is the state directory or another
/// volume (issue 11, findings 2 and 3).
@Suite struct VolumePlacementTests {
    /// A scratch directory, itself free of symlinks, removed at the end.
    final class Scratch {
        let root: String

        init() throws {
            let path = "/tmp/barge-config-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            root = try #require(realpath(path, nil).map { pointer in defer { free(pointer) }; return String(cString: pointer) })
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func path(_ relative: String) -> String { root + "/" + relative }

        func directory(_ relative: String) throws {
            try FileManager.default.createDirectory(atPath: path(relative), withIntermediateDirectories: true)
        }

        func link(_ relative: String, to target: String) throws {
            try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: target)
        }
    }

    /// Node d0 with `state`, peers d1 and d2, and the given volumes, with `replicas` by volume name.
    static func config(state: String, _ volumes: [(name: String, path: String, owner: String)],
                       replicas: [String: [String]] = [:]) -> String {
        var text = """
            [node]
            name = "d0"
            state_dir = "\(state)"
            [tls]
            ca = "/etc/barge/ca.pem"
            cert = "/etc/barge/d0.pem"
            key = "/etc/barge/d0.key"
            [[peer]]
            name = "d1"
            address = "d1.example.net:7420"
            [[peer]]
            name = "d2"
            address = "d2.example.net:7420"

            """
        for volume in volumes {
            let names = (replicas[volume.name] ?? []).map { "\"\($0)\"" }.joined(separator: ", ")
            text += "[[volume]]\nname = \"\(volume.name)\"\npath = \"\(volume.path)\"\nowner = \"\(volume.owner)\"\nreplicas = [\(names)]\n"
        }
        return text
    }

    /// The error for `text`, required to point at the `path` line of volume `name`.
    static func refusal(_ text: String, volume name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigError {
        let error = try #require(throws: ConfigError.self, sourceLocation: sourceLocation) {
            try AgentConfiguration.parse(text, source: "barge.toml")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let nameLine = try #require(lines.firstIndex { $0 == "name = \"\(name)\"" }, sourceLocation: sourceLocation)
        #expect(error.line == nameLine + 2, "\(error)", sourceLocation: sourceLocation)
        #expect(error.key == "volume.path", "\(error)", sourceLocation: sourceLocation)
        return error
    }

    static let stateHint = "(hint: a snapshot must not hold barge's own store: keep volumes and the state directory apart)"

    @Test func aSymlinkToTheStateDirectoryIsTheStateDirectory() throws {
        let x = try Scratch()
        try x.directory("st")
        try x.link("stlink", to: "st")
        let error = try Self.refusal(Self.config(state: x.path("st"), [("git", x.path("stlink"), "d0")]), volume: "git")
        #expect(error.description == "barge.toml:\(error.line ?? 0): volume.path: \"\(x.path("stlink"))\" is the state directory \(x.path("st"))"
                + " (after resolving symlinks: \"\(x.path("st"))\" and \"\(x.path("st"))\") \(Self.stateHint)")
    }

    @Test func aSymlinkToAnotherVolumeOverlapsIt() throws {
        let x = try Scratch()
        try x.directory("st")
        try x.directory("vol")
        try x.link("vollink", to: x.path("vol"))
        let text = Self.config(state: x.path("st"), [("a", x.path("vol"), "d0"), ("b", x.path("vollink"), "d0")])
        let error = try Self.refusal(text, volume: "b")
        #expect(error.message == "\"\(x.path("vollink"))\" is also the path of volume \"a\" (\"\(x.path("vol"))\")"
                + " (after resolving symlinks: \"\(x.path("vol"))\" and \"\(x.path("vol"))\")")
        #expect(error.hint == "volumes must not overlap; give each its own directory")

        // Inside, through a symlinked parent.
        try x.link("parentlink", to: ".")
        let nested = Self.config(state: x.path("st"), [("a", x.path("vol"), "d0"), ("b", x.path("parentlink/vol/sub"), "d0")])
        #expect(try Self.refusal(nested, volume: "b").message.hasPrefix("\"\(x.path("parentlink/vol/sub"))\" is inside the path of volume \"a\""))
    }

    /// A replica may not have the directory yet: it is compared through its
    /// nearest existing ancestor, and nothing is created.
    @Test func aMissingDirectoryIsResolvedThroughItsAncestors() throws {
        let x = try Scratch()
        try x.directory("st")
        try x.link("stlink", to: "st")
        let inside = Self.config(state: x.path("st"), [("git", x.path("stlink/later/git"), "d1")], replicas: ["git": ["d0"]])
        let error = try Self.refusal(inside, volume: "git")
        #expect(error.message == "\"\(x.path("stlink/later/git"))\" is inside the state directory \(x.path("st"))"
                + " (after resolving symlinks: \"\(x.path("st/later/git"))\" and \"\(x.path("st"))\")")

        // The state directory need not exist either (the agent creates it at first start).
        let config = try AgentConfiguration.parse(Self.config(state: x.path("new/state"), [("git", x.path("later/git"), "d0")]),
                                                  source: "barge.toml")
        #expect(config.volumes.map(\.path) == [x.path("later/git")])
        #expect(!FileManager.default.fileExists(atPath: x.path("later")) && !FileManager.default.fileExists(atPath: x.path("new")))
        let missingState = Self.config(state: x.path("new/state"), [("git", x.path("new"), "d0")])
        #expect(try Self.refusal(missingState, volume: "git").message == "\"\(x.path("new"))\" contains the state directory \(x.path("new/state"))")
    }

    /// Paths of volumes this node neither owns nor replicates are on other
    /// machines: they are not resolved here.
    @Test func otherNodesVolumesAreNotResolvedHere() throws {
        let x = try Scratch()
        try x.directory("st")
        let text = Self.config(state: x.path("st"), [("elsewhere", x.path("st"), "d1")])
        #expect(try AgentConfiguration.parse(text, source: "barge.toml").volumes.count == 1)
    }

    @Test func aFileALoopAndTheRootAreRefused() throws {
        let x = try Scratch()
        try x.directory("st")
        try Data("x".utf8).write(to: URL(fileURLWithPath: x.path("file")))
        try x.link("loop1", to: "loop2")
        try x.link("loop2", to: "loop1")
        try x.link("rootlink", to: "/")
        let state = x.path("st")
        #expect(try Self.refusal(Self.config(state: state, [("f", x.path("file"), "d0")]), volume: "f").message
                == "\"\(x.path("file"))\" is not a directory")
        #expect(try Self.refusal(Self.config(state: state, [("f", x.path("file/sub"), "d0")]), volume: "f").message
                == "\"\(x.path("file/sub"))\" cannot be a directory: \(x.path("file")) is not one")
        #expect(try Self.refusal(Self.config(state: state, [("l", x.path("loop1"), "d0")]), volume: "l").message
                == "\"\(x.path("loop1"))\" does not resolve: more than 40 symlinks (a loop?)")
        let root = try Self.refusal(Self.config(state: state, [("r", x.path("rootlink"), "d0")]), volume: "r")
        #expect(root.description == "barge.toml:\(root.line ?? 0): volume.path: \"\(x.path("rootlink"))\" resolves to the root directory, "
                + "which cannot be a volume (hint: name the directory that holds the state, e.g. \"/media/state/r\")")
    }

    /// A bind mount gives the state directory a second name that no symlink
    /// explains: device and inode tell.
    @Test(.enabled(if: BindMount.isPossible, "a bind mount needs root with CAP_SYS_ADMIN"))
    func aBindMountOfTheStateDirectoryIsTheStateDirectory() throws {
        let x = try Scratch()
        try x.directory("st/packs")
        try x.directory("bind")
        try #require(mount(x.path("st"), x.path("bind"), nil, UInt(MS_BIND), nil) == 0, "mount --bind: \(String(cString: strerror(errno)))")
        defer { umount2(x.path("bind"), Int32(MNT_DETACH)) }
        let error = try Self.refusal(Self.config(state: x.path("st"), [("git", x.path("bind/packs"), "d0")]), volume: "git")
        #expect(error.message == "\"\(x.path("bind/packs"))\" is inside the state directory \(x.path("st"))"
                + " (by device and inode, e.g. through a bind mount: \"\(x.path("bind/packs"))\" and \"\(x.path("st"))\")")
    }
}

/// Whether this process may bind-mount, found by trying once.
enum BindMount {
    static let isPossible: Bool = {
        guard geteuid() == 0 else { return false }
        let probe = "/tmp/barge-bind-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mount(probe, probe, nil, UInt(MS_BIND), nil) == 0 else { return false }
        umount2(probe, Int32(MNT_DETACH))
        return true
    }()
}
