import Foundation
import GRDB
import Testing
@testable import Repository

struct Lz4BlockCase: Codable, Sendable, CustomTestStringConvertible {
    let name: String
    let block: String
    let rawLength: Int
    let raw: String?
    let error: String?
    var testDescription: String { name }
}

@Suite struct CompressionTests {
    static let blocks = TestData.cases("repository/lz4-blocks.json", of: Lz4BlockCase.self)

    @Test func casesAreLoaded() { #expect(Self.blocks.count >= 8) }

    /// Bytes from a pack or a peer are never trusted: a malformed block is refused, never read past.
    @Test(arguments: blocks)
    func lz4BlocksDecodeOrAreRefused(_ testCase: Lz4BlockCase) throws {
        let block = try #require([UInt8](hexString: testCase.block))
        do {
            let raw = try block.withUnsafeBytes { try Decompressor().decompress($0, compression: .lz4, rawLength: testCase.rawLength) }
            #expect(testCase.error == nil, "decoded a block that should fail with \(testCase.error ?? "")")
            #expect(raw == [UInt8](hexString: testCase.raw ?? ""))
        } catch let error as RepositoryError {
            #expect(error.code.rawValue == testCase.error, "\(error)")
        }
    }

    @Test(arguments: [Compression.lz4, .zstd])
    func eachCodecRoundTripsAndLeavesIncompressibleBytesRaw(_ codec: Compression) throws {
        let compressor = Compressor(codec: codec)
        #expect(compressor.codec == codec)
        for source in [Bytes.text(256 << 10), [UInt8](repeating: 7, count: 100_000), Bytes.text(64)] {
            let packed = try #require(source.withUnsafeBytes { compressor.compress($0) })
            #expect(packed.count < source.count && packed.count <= codec.maximumStoredLength(rawLength: source.count))
            let raw = try packed.withUnsafeBytes { try Decompressor().decompress($0, compression: codec, rawLength: source.count) }
            #expect(raw == source)
            #expect(throws: RepositoryError.self, "a block of the other codec is refused") {
                try packed.withUnsafeBytes { try Decompressor().decompress($0, compression: codec == .lz4 ? .zstd : .lz4, rawLength: source.count) }
            }
        }
        #expect(Bytes.random(200_000, seed: 3).withUnsafeBytes { compressor.compress($0) } == nil, "random bytes are stored raw")
    }

    /// A new store writes zstd; `initialize` with a codec changes what later blobs are written
    /// with, and blobs of both codecs stay readable.
    @Test func aNewStoreWritesZstdAndCanChangeItsCodec() throws {
        let directory = TemporaryDirectory()
        let text = Bytes.text(90_000), other = Bytes.text(91_000)
        do {
            let store = try Store.initialize(at: directory.path)
            #expect(store.compression == .zstd)
            #expect(try store.index.recordedCompression() == .zstd, "a new store records its codec")
            try write(text, to: store)
        }
        do {
            let store = try Store.initialize(at: directory.path, compression: .lz4)
            #expect(store.compression == .lz4)
            try write(other, to: store)
        }
        let store = try Store.initialize(at: directory.path)
        #expect(store.compression == .lz4, "initialize without a codec keeps the store's")
        for (bytes, codec) in [(text, Compression.zstd), (other, .lz4)] {
            let id = BlobID.of(.chunk, bytes)
            #expect(try store.index.location(of: id)?.compression == codec)
            #expect(try store.read(id, kind: .chunk, using: Decompressor()) == bytes)
        }
        #expect(throws: RepositoryError.self) { try Store.initialize(at: directory.path, compression: Compression.none) }
    }

    /// A store made before lz4 (index at v5) keeps its blobs and its codec (zstd) when opened,
    /// and takes lz4 blobs once told to.
    @Test func aStoreFromBeforeLz4KeepsItsBlobsAndWritesZstd() throws {
        let directory = TemporaryDirectory()
        let old = Bytes.text(70_000)
        let oldID = BlobID.of(.chunk, old)
        do {
            // The layout of the version before: schema v5, one zstd chunk in pack 1.
            let store = try Store.initialize(at: directory.path, compression: .zstd)
            try write(old, to: store)
            let location = try #require(try store.index.location(of: oldID))
            try FileManager.default.createDirectory(atPath: directory.path + "/v5", withIntermediateDirectories: false)
            let queue = try DatabaseQueue(path: Store.indexPath(in: directory.path + "/v5"))
            try IndexSchema.migrator.migrate(queue, upTo: "v5-rollbacks")
            try queue.write { db in
                try db.execute(sql: "INSERT INTO pack (id, size) SELECT ?, ?", arguments: [location.pack, 1 << 20])
                try db.execute(sql: "INSERT INTO blob VALUES (?, ?, ?, ?, ?, ?, ?)",
                               arguments: [Data(oldID.bytes), 1, location.pack, location.offset, location.storedLength, location.rawLength, 1])
            }
        }
        try FileManager.default.removeItem(atPath: Store.indexPath(in: directory.path))
        try? FileManager.default.removeItem(atPath: Store.indexPath(in: directory.path) + "-wal")
        try? FileManager.default.removeItem(atPath: Store.indexPath(in: directory.path) + "-shm")
        try FileManager.default.moveItem(atPath: Store.indexPath(in: directory.path + "/v5"), toPath: Store.indexPath(in: directory.path))

        do {
            let store = try Store(at: directory.path, access: .write)
            #expect(store.compression == .zstd)
            #expect(try store.index.recordedCompression() == nil)
            #expect(try store.read(oldID, kind: .chunk, using: Decompressor()) == old)
        }
        let newer = Bytes.text(71_000)
        let lz4 = try Store.initialize(at: directory.path, compression: .lz4)
        try write(newer, to: lz4)
        #expect(try lz4.index.location(of: BlobID.of(.chunk, newer))?.compression == .lz4)
        #expect(try lz4.read(BlobID.of(.chunk, newer), kind: .chunk, using: Decompressor()) == newer)
    }

    /// A record whose stored length breaks the header rule every reader applies is never written,
    /// whoever appends it (the receiver checks first too, for its own error code).
    @Test func aRecordLongerThanItsCodecsBoundIsNeverWritten() throws {
        let directory = TemporaryDirectory()
        let store = try Store.initialize(at: directory.path)
        let writer = BlobWriter(store: store)
        let raw = Bytes.text(1000)
        for (codec, count) in [(Compression.lz4, Compression.lz4.maximumStoredLength(rawLength: 1000) + 1),
                               (.zstd, Compression.zstd.maximumStoredLength(rawLength: 1000) + 1), (.none, 999)] {
            let payload = [UInt8](repeating: 0, count: count)
            #expect(throws: RepositoryError.self, "\(codec.name), \(count) bytes") {
                try payload.withUnsafeBytes {
                    try writer.append(id: BlobID.of(.chunk, raw), kind: .chunk, rawLength: raw.count, compression: codec, payload: $0)
                }
            }
        }
        try writer.checkpoint()
        #expect(try store.index.blobCount() == 0)
        #expect(try store.packFilesOnDisk().values.reduce(0, +) <= PackFormat.fileMagic.count, "nothing reached a pack")
    }

    private func write(_ bytes: [UInt8], to store: Store) throws {
        let writer = BlobWriter(store: store)
        try writer.append(id: BlobID.of(.chunk, bytes), kind: .chunk, raw: bytes, compressor: Compressor(codec: store.compression))
        try writer.checkpoint()
    }
}
