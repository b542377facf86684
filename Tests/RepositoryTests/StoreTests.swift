import Foundation
import Testing
@testable import Repository

@Suite struct StoreTests {
    /// Writes `count` chunks and a snapshot; returns the chunk ids and bytes.
    @discardableResult
    func fill(_ store: Store, count: Int, seed: UInt64, commit: Bool = true, codec: Compression = .zstd) throws -> [(BlobID, [UInt8])] {
        let writer = BlobWriter(store: store, checkpointBytes: 1 << 20)
        let compressor = Compressor(codec: codec)
        var chunks: [(BlobID, [UInt8])] = []
        for index in 0..<count {
            let bytes = index % 2 == 0 ? Bytes.random(40_000 + index, seed: seed + UInt64(index)) : Bytes.text(50_000 + index)
            let id = BlobID.of(.chunk, bytes)
            try writer.append(id: id, kind: .chunk, raw: bytes, compressor: compressor)
            chunks.append((id, bytes))
        }
        if commit { try writer.commit(sampleRecord(root: chunks[0].0), compressor: compressor) }
        return chunks
    }

    /// While this writer has not committed since the caller asked the index, only its pending
    /// blobs can have been stored meanwhile: the index is not asked again. After a commit it is.
    @Test func knownAsksTheIndexAgainOnlyAfterACommit() throws {
        let directory = TemporaryDirectory()
        let store = try Store.initialize(at: directory.path)
        let stored = try fill(store, count: 1, seed: 7)[0].0
        let writer = BlobWriter(store: store)
        let bytes = Bytes.text(1000)
        let pending = BlobID.of(.chunk, bytes)
        let asked = writer.commitCount
        try writer.append(id: pending, kind: .chunk, raw: bytes, compressor: Compressor())
        #expect(try writer.known([stored, pending], indexAskedAt: asked) == [pending], "the index is not asked again")
        #expect(try writer.known([stored, pending]) == [stored, pending])
        try writer.checkpoint()
        #expect(writer.commitCount == asked + 1)
        #expect(try writer.known([stored, pending], indexAskedAt: asked) == [stored, pending], "committed since: the index is asked")
    }

    @Test func blobsRoundTripThroughPacks() throws {
        let directory = TemporaryDirectory()
        let store = try Store.initialize(at: directory.path)
        let chunks = try fill(store, count: 40, seed: 1)
        let reopened = try Store(at: directory.path, access: .read)
        let decompressor = Decompressor()
        for (id, bytes) in chunks {
            #expect(try reopened.read(id, kind: .chunk, using: decompressor) == bytes)
        }
        let location = try #require(try reopened.index.location(of: chunks[1].0))
        #expect(location.compression == .zstd, "text must be stored compressed")
        #expect(try reopened.index.location(of: chunks[0].0)?.compression == Compression.none, "random bytes are stored raw")
        #expect(try reopened.snapshots(volume: "v").count == 1)
    }

    /// A writer killed before its transaction leaves bytes past the committed
    /// size. Nothing points at them, and the next writer neither cuts them off
    /// (they are never trusted to be debris) nor appends after them.
    @Test func uncommittedTailIsLeftAloneAndNotAppendedTo() throws {
        let directory = TemporaryDirectory()
        let store = try Store.initialize(at: directory.path)
        let committed = try fill(store, count: 4, seed: 2)
        let sizes = try store.index.packSizes()
        // What kill -9 leaves: bytes after the committed end of the last pack.
        let last = try #require(sizes.keys.max())
        let handle = try #require(FileHandle(forWritingAtPath: store.packPath(last)))
        try handle.seekToEnd()
        handle.write(Data(Bytes.random(1_200_000, seed: 99)))
        try handle.close()
        let crashed = try store.packFilesOnDisk()

        let reopened = try Store(at: directory.path, access: .read)
        #expect(try reopened.index.blobCount() == 5)
        #expect(try reopened.read(committed[3].0, kind: .chunk, using: Decompressor()) == committed[3].1)
        let more = Bytes.text(70_000)
        let writer = BlobWriter(store: store)
        try writer.append(id: BlobID.of(.chunk, more), kind: .chunk, raw: more, compressor: Compressor())
        try writer.checkpoint()
        let after = try reopened.packFilesOnDisk()
        for (pack, size) in crashed { #expect(after[pack] == size, "pack \(pack) must not change") }
        #expect(after.count == crashed.count + 1, "new data goes to a new pack")
        #expect(try reopened.read(BlobID.of(.chunk, more), kind: .chunk, using: Decompressor()) == more)
    }

    /// A writer that ends without committing (an error, a full disk) takes back
    /// what it wrote: appended bytes are cut, a pack it created is removed.
    @Test func abandonedWriterTakesBackItsBytes() throws {
        let directory = TemporaryDirectory()
        let store = try Store.initialize(at: directory.path)
        try fill(store, count: 2, seed: 5)
        let before = try store.packFilesOnDisk()
        do {
            let writer = BlobWriter(store: store, checkpointBytes: 1 << 40)
            for index in 0..<3 {
                let bytes = Bytes.random(1_500_000, seed: UInt64(50 + index))
                try writer.append(id: BlobID.of(.chunk, bytes), kind: .chunk, raw: bytes, compressor: Compressor())
            }
            #expect(try store.packFilesOnDisk().values.reduce(0, +) > before.values.reduce(0, +))
        }
        #expect(try store.packFilesOnDisk() == before)
        #expect(try store.index.blobCount() == 3)
    }

    @Test func flippedByteIsCaught() throws {
        let directory = TemporaryDirectory()
        let store = try Store.initialize(at: directory.path)
        let chunks = try fill(store, count: 3, seed: 3)
        let location = try #require(try store.index.location(of: chunks[2].0))
        let path = store.packPath(location.pack)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(location.offset + PackFormat.headerLength + location.storedLength / 2))
        let byte = try #require(try handle.read(upToCount: 1))
        try handle.seek(toOffset: UInt64(location.offset + PackFormat.headerLength + location.storedLength / 2))
        handle.write(Data([byte[0] ^ 0x40]))
        try handle.close()
        let reader = try Store(at: directory.path, access: .read)
        #expect(throws: RepositoryError.self) { try reader.read(location, using: Decompressor()) }
        #expect(try reader.read(chunks[1].0, kind: .chunk, using: Decompressor()) == chunks[1].1)
    }

    @Test func secondWriterIsRefused() throws {
        let directory = TemporaryDirectory()
        let first = try Store.initialize(at: directory.path)
        do {
            _ = try Store(at: directory.path, access: .write)
            Issue.record("a second writer must be refused")
        } catch let error as RepositoryError {
            #expect(error.code == .locked)
        }
        withExtendedLifetime(first) {}
    }

    @Test func missingStoreSaysHowToCreateOne() throws {
        let directory = TemporaryDirectory()
        do {
            _ = try Store(at: directory.path + "/nothing", access: .read)
            Issue.record("opening a missing store must fail")
        } catch let error as RepositoryError {
            #expect(error.code == .notInitialized)
            #expect(error.hint?.contains("barge") == true)
        }
    }

    /// The rebuilt index also records the codec of the newest compressed blob (the settings were in the old one).
    @Test(arguments: [Compression.zstd, .lz4])
    func indexRebuildsFromPacksAlone(codec: Compression) throws {
        let directory = TemporaryDirectory()
        var store: Store? = try Store.initialize(at: directory.path, compression: codec)
        try store!.index.addVolume(VolumeRecord(name: "v", path: "/srv/v", chunkAverage: 65536))
        let chunks = try fill(store!, count: 30, seed: 4, codec: codec)
        let before = try store!.snapshots(volume: nil)
        store = nil
        try FileManager.default.removeItem(atPath: Store.indexPath(in: directory.path))
        let report = try IndexRebuilder(directory: directory.path).run()
        #expect(report.blobs == 31)
        #expect(report.snapshots == 1)
        let rebuilt = try Store(at: directory.path, access: .read)
        #expect(try rebuilt.snapshots(volume: nil) == before)
        #expect(try rebuilt.index.volume(named: "v")?.path == "/srv/v")
        #expect(rebuilt.compression == codec)
        for (id, bytes) in chunks { #expect(try rebuilt.read(id, kind: .chunk, using: Decompressor()) == bytes) }
    }
}

@Suite struct PackNumberingTests {
    /// A new pack never takes the number of a file on disk the index does not
    /// know, nor of a pack gc has dropped but may not have unlinked yet.
    @Test func newPacksSkipUnknownFilesAndDoomedNumbers() throws {
        let directory = TemporaryDirectory()
        let store = try Store.initialize(at: directory.path)
        let stranger = Bytes.random(100, seed: 1)
        #expect(FileManager.default.createFile(atPath: store.packPath(7), contents: Data(stranger)))
        let first = try store.index.allocatePack(headerLength: 8, above: try store.packFilesOnDisk().keys.max() ?? 0)
        #expect(first == 8)
        try store.index.relocate(moved: [], deleted: [], removedPacks: [first], packSizes: [:])
        #expect(try store.index.doomedPacks() == [first])
        let second = try store.index.allocatePack(headerLength: 8, above: 0)
        #expect(second == 9, "the doomed number 8 is not handed out again")
        #expect(FileManager.default.contents(atPath: store.packPath(7)).map { [UInt8]($0) } == stranger)
    }

    @Test(arguments: ["00000001.pack", "0000abcd.pack"])
    func packNamesRoundTrip(_ name: String) {
        #expect(PackFormat.packNumber(fileName: name).map { PackFormat.fileName(pack: $0) } == name)
    }

    @Test(arguments: ["5.pack", "0000001A.pack", "-0000001.pack", "00000000.pack", "00000001.pack.tmp", "0000000g.pack"])
    func foreignNamesAreNotPacks(_ name: String) {
        #expect(PackFormat.packNumber(fileName: name) == nil)
    }
}
