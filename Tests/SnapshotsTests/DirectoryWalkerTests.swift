import Foundation
import Testing
import TestSupport
@testable import Snapshots

/// The walker runs ahead of the scanner on its own thread; the scanner relies on
/// getting every directory exactly once, in its own depth-first byte order.
@Suite struct DirectoryWalkerTests {
    /// A tree of nested directories, files, a symlink to a directory (never
    /// followed) and names that are not UTF-8; returns its root.
    private static func makeTree(directories: Int, filesEach: Int, seed: UInt64) throws -> String {
        let root = NSTemporaryDirectory() + "barge-walk-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var generator = SplitMix64(seed: seed)
        var made = [root]
        for index in 0..<directories {
            let parent = made[generator.below(made.count)]
            let name = index % 7 == 3 ? "d\(index)\u{7F}x" : "d\(index)"
            let path = parent + "/" + name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            for file in 0..<generator.below(filesEach + 1) {
                _ = FileManager.default.createFile(atPath: path + "/f\(file)", contents: Data([UInt8(file & 0xFF)]))
            }
            made.append(path)
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/link-to-dir", withDestinationPath: made.last!)
        return root
    }

    /// Directories below `relative`, depth first, children in byte order: computed without the walker.
    private static func expectedOrder(root: String, relative: [UInt8] = []) -> [[UInt8]] {
        let path = relative.isEmpty ? root : root + "/" + String(decoding: relative, as: UTF8.self)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { Array($0.utf8) }
        var order = [relative]
        for name in names.sorted(by: { ByteOrder.precedes($0, $1) }) {
            // attributesOfItem does not follow a symlink: the link to a directory is no directory here.
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + String(decoding: name, as: UTF8.self))
            guard attributes?[.type] as? FileAttributeType == .typeDirectory else { continue }
            order += expectedOrder(root: root, relative: FileSystem.join(relative, name))
        }
        return order
    }

    /// Descriptors of this process open on something below `root` (other tests run in parallel).
    private static func openDescriptors(below root: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) ?? "").hasPrefix(root) }.count
    }

    /// Bounds as small as one directory or one entry ahead, and roomy ones.
    @Test(arguments: [(1, 1), (2, 10), (4, 1_000_000), (256, 64 * 1024)])
    func everyDirectoryOnceInScanOrder(_ bounds: (directories: Int, entries: Int)) throws {
        let root = try Self.makeTree(directories: 60, filesEach: 30, seed: UInt64(bounds.directories))
        defer { try? FileManager.default.removeItem(atPath: root) }
        let descriptor = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        let walker = DirectoryWalker(root: descriptor, rootDevice: FileSystem.status(of: descriptor)!.device, crossMounts: false,
                                     statWorkers: 2, maximumDirectories: bounds.directories, maximumEntries: bounds.entries)
        defer { walker.stop() }
        var seen: [[UInt8]] = []
        while let directory = walker.next() {
            guard case .listed(let names, let statuses) = directory.contents else {
                Issue.record("\(TreeEntry.display(directory.relative)) was not listed")
                continue
            }
            #expect(names.count == statuses.count)
            #expect(names == names.sorted { ByteOrder.precedes($0, $1) })
            #expect(statuses.allSatisfy { (try? $0.get()) != nil })
            #expect(FileSystem.status(of: directory.descriptor)?.kind == .directory)
            seen.append(directory.relative)
        }
        #expect(seen == Self.expectedOrder(root: root))
        #expect(seen.count == 61)
    }

    /// A scan that stops early (a store error) leaves no descriptor open.
    @Test func stoppingMidWalkClosesEveryDescriptor() throws {
        let root = try Self.makeTree(directories: 200, filesEach: 2, seed: 9)
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            let descriptor = open(root, O_RDONLY | O_DIRECTORY)
            let walker = DirectoryWalker(root: descriptor, rootDevice: FileSystem.status(of: descriptor)!.device, crossMounts: false,
                                         statWorkers: 1, maximumDirectories: 8, maximumEntries: 1000)
            close(descriptor)
            var held: [WalkedDirectory] = []
            for _ in 0..<3 { if let directory = walker.next() { held.append(directory) } }
            #expect(held.count == 3)
            #expect(Self.openDescriptors(below: root) >= 3)
            walker.stop()
            walker.stop()
            #expect(walker.next() == nil, "nothing after stop")
        }
        #expect(Self.openDescriptors(below: root) == 0)
    }

    /// A directory the walker cannot open still yields its one record, so the order holds.
    @Test func anUnopenableDirectoryKeepsItsPlace() throws {
        let root = try Self.makeTree(directories: 0, filesEach: 0, seed: 1)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for name in ["a", "a/x", "b", "c"] { try FileManager.default.createDirectory(atPath: root + "/" + name, withIntermediateDirectories: false) }
        _ = FileManager.default.createFile(atPath: root + "/c/file", contents: Data("x".utf8))
        let descriptor = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(descriptor) }
        // One directory ahead at most: once the root is taken, the walker blocks
        // inside a/ (emitting a/x) and has not opened b yet, which then vanishes
        // between its lstat (as a directory) and its open.
        let walker = DirectoryWalker(root: descriptor, rootDevice: FileSystem.status(of: descriptor)!.device, crossMounts: false,
                                     statWorkers: 1, maximumDirectories: 1, maximumEntries: 1)
        defer { walker.stop() }
        let first = try #require(walker.next())
        #expect(first.relative.isEmpty)
        try FileManager.default.removeItem(atPath: root + "/b")
        var seen: [(String, Bool)] = []
        while let directory = walker.next() {
            if case .listed = directory.contents { seen.append((String(decoding: directory.relative, as: UTF8.self), true)) }
            if case .unreadable(let call, let error) = directory.contents {
                #expect(call == "open" && error.code == ENOENT)
                seen.append((String(decoding: directory.relative, as: UTF8.self), false))
            }
        }
        #expect(seen.map(\.0) == ["a", "a/x", "b", "c"])
        #expect(seen.map(\.1) == [true, true, false, true])
    }
}
