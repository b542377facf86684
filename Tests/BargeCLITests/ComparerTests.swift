import CLinux
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The comparer is the oracle of every restore test: each way a restore
/// could go wrong must show up as a difference.
enum Mutation: String, CaseIterable, Sendable {
    case mtimeOneNanosecond, mode, owner, contentSameSize, xattrValue, xattrRemoved, symlinkTarget
    case hardLinkBroken, sparseFilled, rootMtime, rootXattr, extraFile, missingEmptyDirectory, nonUTF8NameChanged
    case fifoBecomesFile

    /// Applies the mutation to a tree made by TreeGenerator; returns the path
    /// it must be reported at, then any other paths that may differ too.
    func apply(to root: String) throws -> [String] {
        let at = { (relative: String) in RawFS.bytes(root + "/" + relative) }
        func keepingMtime(_ relative: String, _ body: () throws -> Void) throws {
            let before = try #require(RawFS.lstat(at(relative))).st_mtim.nanoseconds
            try body()
            try RawFS.setMtime(at(relative), nanoseconds: before)
        }
        switch self {
        case .mtimeOneNanosecond:
            let info = try #require(RawFS.lstat(at("docs/notes.md")))
            try RawFS.setMtime(at("docs/notes.md"), nanoseconds: info.st_mtim.nanoseconds + 1)
            return ["docs/notes.md"]
        case .mode:
            try RawFS.chmod(at("modes/setuid"), 0o755)
            return ["modes/setuid"]
        case .owner:
            try RawFS.lchown(at("small.txt"), 4242, 0)
            return ["small.txt"]
        case .contentSameSize:
            try keepingMtime("data/big-random.bin") {
                let fd = open(root + "/data/big-random.bin", O_RDWR)
                var byte: UInt8 = 0
                pread(fd, &byte, 1, 1000)
                byte ^= 1
                pwrite(fd, &byte, 1, 1000)
                close(fd)
            }
            return ["data/big-random.bin"]
        case .xattrValue:
            try keepingMtime("xattr/file") { try RawFS.setxattr(at("xattr/file"), "user.comment", RawFS.bytes("hello, barge!")) }
            return ["xattr/file"]
        case .xattrRemoved:
            try RawFS.check(RawFS.withPath(at("xattr/file")) { lremovexattr($0, "user.empty") }, "removexattr", at("xattr/file"))
            return ["xattr/file"]
        case .symlinkTarget:
            try keepingMtime("links") {
                try RawFS.removeTree(root + "/links/relative")
                try RawFS.symlink(RawFS.bytes("../small.tx"), at: at("links/relative"))
            }
            return ["links/relative"]
        case .hardLinkBroken:
            // Same bytes, mode, owner and mtime; only the link structure differs.
            let info = try #require(RawFS.lstat(at("hard/second")))
            let contents = try #require(FileManager.default.contents(atPath: root + "/hard/second"))
            try keepingMtime("hard") {
                try RawFS.removeTree(root + "/hard/second")
                try RawFS.write(at("hard/second"), [UInt8](contents), mode: info.st_mode & 0o7777)
            }
            try RawFS.setMtime(at("hard/second"), nanoseconds: info.st_mtim.nanoseconds)
            return ["hard/second", "hard/original", "nested/a/third"]
        case .sparseFilled:
            let contents = try #require(FileManager.default.contents(atPath: root + "/sparse.img"))
            try keepingMtime("sparse.img") { try RawFS.write(at("sparse.img"), [UInt8](contents)) }
            return ["sparse.img"]
        case .rootMtime:
            let info = try #require(RawFS.lstat(RawFS.bytes(root)))
            try RawFS.setMtime(RawFS.bytes(root), nanoseconds: info.st_mtim.nanoseconds - 1_000_000_000)
            return ["."]
        case .rootXattr:
            try keepingMtime(".") { try RawFS.setxattr(RawFS.bytes(root), "user.volume-root", RawFS.bytes("changed")) }
            return ["."]
        case .extraFile:
            try keepingMtime("empty-dir") { try RawFS.write(at("empty-dir/new"), []) }
            return ["empty-dir/new"]
        case .missingEmptyDirectory:
            try keepingMtime("nested/a/b") { try RawFS.removeTree(root + "/nested/a/b/empty") }
            return ["nested/a/b/empty"]
        case .nonUTF8NameChanged:
            let names = at("names"), old = TreeGenerator.nonUTF8, new = TreeGenerator.nonUTF8 + [0xFF]
            try keepingMtime("names") {
                try RawFS.check(RawFS.withPath(RawFS.join(names, old)) { from in RawFS.withPath(RawFS.join(names, new)) { rename(from, $0) } },
                                "rename", names)
            }
            return [old, new].map { Manifest.display(RawFS.bytes("names/") + $0) }
        case .fifoBecomesFile:
            try keepingMtime(".") {
                try RawFS.removeTree(root + "/fifo")
                try RawFS.write(at("fifo"), [])
            }
            return ["fifo"]
        }
    }
}

@Suite struct ComparerTests {
    @Test func anUntouchedTreeHasNoDifferences() throws {
        let ws = try Workspace("comparer")
        try TreeGenerator(seed: 9, bigFile: 64 << 10, sparseSize: 1 << 20).build(at: ws.path("tree"))
        let manifest = try Manifest.capture(ws.path("tree"))
        #expect(manifest.differences(to: try Manifest.capture(ws.path("tree"))).isEmpty)
        #expect(manifest.entries[RawFS.bytes("sparse.img")]?.isSparse == true, "the generator made a sparse file")
        #expect(manifest.entries[RawFS.bytes("names/") + TreeGenerator.nonUTF8] != nil)
        #expect(manifest.entries[RawFS.bytes("old/pre-epoch.txt")]?.mtime == -1_234_567_891)
        let links = manifest.entries.filter { $0.value.inode == manifest.entries[RawFS.bytes("hard/original")]?.inode }
        #expect(links.count == 3, "three names for one inode")
    }

    @Test(arguments: Mutation.allCases)
    func everyMutationIsReported(_ mutation: Mutation) throws {
        if mutation == .owner && geteuid() != 0 { return } // only root can give a file away
        let ws = try Workspace("mutation")
        let root = ws.path("tree")
        try TreeGenerator(seed: 9, bigFile: 64 << 10, sparseSize: 1 << 20).build(at: root)
        let before = try Manifest.capture(root)
        let paths = try mutation.apply(to: root)
        let differences = before.differences(to: try Manifest.capture(root))
        #expect(differences.contains { $0.hasPrefix(paths[0] + ":") }, "\(mutation) is reported at \(paths[0]): \(differences)")
        #expect(differences.allSatisfy { line in paths.contains { line.hasPrefix($0 + ":") } }, "and nowhere else: \(differences)")
    }
}
