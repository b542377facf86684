import CLinux
import Foundation
import Testing
import TestSupport
@testable import Snapshots

@Suite struct FileSystemTests {
    /// Many long names need several getdents64 calls; all come back, sorted by bytes.
    @Test(arguments: [0, 1, 3000])
    func directoryListingIsCompleteAndSorted(_ count: Int) throws {
        let root = NSTemporaryDirectory() + "barge-names-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        var expected: [[UInt8]] = []
        var generator = SplitMix64(seed: UInt64(count))
        for index in 0..<count {
            // Long names (about 200 bytes), one with a byte that is not UTF-8.
            var name = Array(String(repeating: "n", count: 190 + generator.below(50)).utf8) + Array("\(index)".utf8)
            if index == 7 { name.append(0xFF) }
            expected.append(name)
            let fd = FileSystem.withCString(Array(root.utf8) + [47] + name) { open($0, O_CREAT | O_WRONLY, 0o600) }
            #expect(fd >= 0)
            close(fd)
        }
        let directory = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(directory) }
        let listed = try FileSystem.names(in: directory).get()
        #expect(listed == expected.sorted { ByteOrder.precedes($0, $1) })
        #expect(try FileSystem.names(in: directory).get() == listed, "a second listing starts from the beginning")
    }

    /// The probe a first snapshot uses to start its read-ahead thread only on
    /// a cold tree: a file pushed out of the page cache reads as not cached,
    /// then as cached once read.
    @Test func pageCacheProbeSeesEvictedAndReadFiles() throws {
        // In the working directory (the package's, on disk): /tmp may be a tmpfs, whose pages cannot be evicted.
        let path = FileManager.default.currentDirectoryPath + "/.barge-cached-" + UUID().uuidString
        defer { unlink(path) }
        try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        fsync(fd)
        #expect(barge_is_cached(fd, 0) == 1, "just written")
        #expect(posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED)) == 0)
        #expect(barge_is_cached(fd, 0) == 0, "evicted")
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, 0) == 1 && byte == 7)
        #expect(barge_is_cached(fd, 0) == 1, "read again")
    }
}
