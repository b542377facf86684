import Foundation
import GRDB
import Testing
import TestSupport
@testable import Repository

/// The bare-machine restore's scratch store: never synced, reused only within the boot it was written in.
@Suite struct ScratchStoreTests {
    /// Bytes written to pages that were then dropped before reaching the disk, by this thread.
    static func cancelledWriteBytes() throws -> Int {
        let text = try String(contentsOfFile: "/proc/thread-self/io", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("cancelled_write_bytes:") })
        return try #require(Int(line.split(separator: " ").last ?? ""))
    }

    /// Fills a store with 8 MiB of incompressible chunks, commits them, closes it and
    /// unlinks its packs: returns the pack bytes the kernel dropped unwritten.
    static func droppedPackBytes(_ open: (String) throws -> Store, in directory: String) throws -> Int {
        do {
            let store = try open(directory)
            let writer = BlobWriter(store: store)
            for seed in 0..<8 {
                let chunk = randomBytes(1 << 20, seed: UInt64(seed) + 700)
                try chunk.withUnsafeBytes {
                    try writer.append(id: BlobID.of(.chunk, chunk), kind: .chunk, rawLength: chunk.count, compression: .none, payload: $0)
                }
            }
            try writer.checkpoint()
        }
        let before = try cancelledWriteBytes()
        for name in try FileManager.default.contentsOfDirectory(atPath: directory + "/packs") {
            try FileManager.default.removeItem(atPath: directory + "/packs/" + name)
        }
        return try cancelledWriteBytes() - before
    }

    @Test func aScratchStoreSyncsNothingADurableOneEverything() throws {
        let temporary = TemporaryDirectory()
        let scratch = try Self.droppedPackBytes({ try ScratchStore.open(at: $0) }, in: temporary.path + "/scratch.barge-import")
        // Most of the 8 MiB is still dirty (the kernel's own writeback waits 30 s): removing it drops them unwritten.
        #expect(scratch >= 4 << 20, "a scratch store's packs were synced: only \(scratch) bytes were dropped")
        let durable = try Self.droppedPackBytes({ try Store.initialize(at: $0) }, in: temporary.path + "/durable")
        // At most the last partial page: closing the writer trims its open pack to the committed size,
        // and truncating to a size inside a page rewrites that page's tail.
        #expect(durable <= 4096, "a durable store's committed packs must be on disk: \(durable) bytes were still dirty")

        let store = try ScratchStore.open(at: temporary.path + "/scratch.barge-import")
        #expect(store.durability == .scratch)
        #expect(try store.index.pool.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 0)
        let plain = try Store(at: temporary.path + "/durable", access: .read)
        #expect(try plain.index.pool.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
    }

    @Test func aScratchStoreIsReusedOnlyInTheBootItWasWrittenIn() throws {
        let temporary = TemporaryDirectory()
        let directory = temporary.path + "/target.barge-import"
        let chunk = Bytes.text(5000)
        let id = BlobID.of(.chunk, chunk)
        do {
            let writer = BlobWriter(store: try ScratchStore.open(at: directory))
            try writer.append(id: id, kind: .chunk, raw: chunk, compressor: Compressor())
            try writer.checkpoint()
        }
        // Killed and run again in the same boot: what was fetched is kept.
        #expect(try ScratchStore.open(at: directory).index.location(of: id) != nil)

        // After a reboot nothing unsynced can be trusted: the store starts over.
        try "another-boot".write(toFile: directory + "/" + ScratchStore.markerName, atomically: false, encoding: .utf8)
        #expect(try ScratchStore.open(at: directory).index.location(of: id) == nil)

        // A store without the marker (made durable by an older barge, or cut before the marker) starts over too.
        try FileManager.default.removeItem(atPath: directory + "/" + ScratchStore.markerName)
        let again = try ScratchStore.open(at: directory)
        #expect(try again.index.location(of: id) == nil)
        #expect(FileManager.default.fileExists(atPath: directory + "/" + ScratchStore.markerName))
    }

    @Test func aDirectoryBargeDidNotWriteIsNeverRemoved() throws {
        let temporary = TemporaryDirectory()
        let directory = temporary.path + "/target.barge-import"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try "mine".write(toFile: directory + "/notes.txt", atomically: false, encoding: .utf8)
        let error = #expect(throws: RepositoryError.self) { try ScratchStore.open(at: directory) }
        #expect(error?.code == .invalidArgument && error?.message.contains("notes.txt") == true, "\(String(describing: error))")
        #expect(FileManager.default.fileExists(atPath: directory + "/notes.txt"))
        #expect(throws: RepositoryError.self) { try ScratchStore.remove(directory) }
        #expect(FileManager.default.fileExists(atPath: directory + "/notes.txt"))
    }
}
