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
    /// a cold tree: a file whose pages are not in the page cache reads as not
    /// cached, then as cached once read.
    @Test func pageCacheProbeSeesUncachedAndReadFiles() throws {
        // In the working directory (the package's, on disk): /tmp may be a tmpfs, whose pages cannot be evicted.
        let path = FileManager.default.currentDirectoryPath + "/.barge-cached-" + UUID().uuidString
        defer { unlink(path) }
        let fd = try Self.fileNotInThePageCache(path, bytes: 1 << 20, fill: 7)
        defer { close(fd) }
        // One probe per place: a probe that finds no page starts the kernel's read-ahead there.
        #expect(barge_is_cached(fd, 0) == 0, "not cached")
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, 0) == 1 && byte == 7)
        #expect(barge_is_cached(fd, 0) == 1, "cached once read")
    }

    /// Writes the file with O_DIRECT, which leaves no page of it cached. (An
    /// eviction with POSIX_FADV_DONTNEED is only advice: on one CI machine the
    /// page stayed.) Falls back to eviction, retried, where O_DIRECT is refused;
    /// watched with mincore, which, unlike the probe, reads nothing in.
    static func fileNotInThePageCache(_ path: String, bytes: Int, fill: UInt8) throws -> Int32 {
        var allocated: UnsafeMutableRawPointer?
        try #require(posix_memalign(&allocated, 4096, bytes) == 0)
        let buffer = try #require(allocated)
        defer { free(buffer) }
        memset(buffer, Int32(fill), bytes)
        let direct = open(path, O_CREAT | O_EXCL | O_WRONLY | barge_o_direct(), 0o600)
        if direct >= 0 {
            defer { close(direct) }
            try #require(write(direct, buffer, bytes) == bytes)
            try #require(fsync(direct) == 0)
        } else {
            try #require(errno == EINVAL, "open with O_DIRECT: errno \(errno)")
            try Data(bytes: buffer, count: bytes).write(to: URL(fileURLWithPath: path))
        }
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        fsync(fd)
        let mapped = mmap(nil, bytes, PROT_READ, MAP_SHARED, fd, 0)
        try #require(mapped != MAP_FAILED)
        defer { munmap(mapped, bytes) }
        var resident = [UInt8](repeating: 0, count: (bytes + 4095) / 4096)
        for _ in 0..<50 {
            try #require(mincore(mapped, bytes, &resident) == 0)
            if resident.allSatisfy({ $0 & 1 == 0 }) { return fd }
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
            usleep(20_000)
        }
        Issue.record("no page of \(path) left the page cache in 1 s")
        return fd
    }
}
