import Foundation
import Testing
import TestSupport
import Repository
@testable import Snapshots

/// A large file changed in place is cut and hashed again only where it changed,
/// and the result is exactly what cutting and hashing it whole gives.
@Suite struct ChunkFingerprintsTests {
    enum Edit: String, CaseIterable, Sendable {
        case pages, insert, delete, truncate, append, lastBytes, firstByte, sameBytes, replaced
    }

    static func apply(_ edit: Edit, to bytes: inout [UInt8]) {
        var generator = SplitMix64(seed: 17)
        switch edit {
        case .pages:
            for _ in 0..<40 {
                let page = generator.below(bytes.count / 4096) * 4096
                bytes.replaceSubrange(page..<page + 4096, with: randomBytes(4096, seed: generator.next()))
            }
        case .insert: bytes.insert(contentsOf: randomBytes(1000, seed: 5), at: 5 << 20)
        case .delete: bytes.removeSubrange((7 << 20)..<(7 << 20) + 3000)
        case .truncate: bytes.removeLast(100 << 10)
        case .append: bytes += randomBytes(50 << 10, seed: 6)
        case .lastBytes: for index in bytes.count - 10..<bytes.count { bytes[index] ^= 0xFF }
        case .firstByte: bytes[0] ^= 1
        case .sameBytes: break
        case .replaced: bytes = randomBytes(bytes.count, seed: 99)
        }
    }

    @Test(arguments: Edit.allCases)
    func changedRangesAloneAreCutAndTheResultIsExact(_ edit: Edit) throws {
        let fixture = try Fixture()
        // Half random, half repetitive (compressible, and chunks that repeat).
        var bytes = randomBytes(6 << 20, seed: 1) + [UInt8]((0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 / 3000) })
        try fixture.write("db/big.bin", bytes)
        try fixture.write("small", randomBytes(1000, seed: 2))
        let store = try Store(at: fixture.state, access: .write)
        let volume = try #require(try store.index.volume(named: "v"))
        let cache = ChunkFingerprints()
        func snapshot(rehash: Bool = false, cache: ChunkFingerprints?) throws -> SnapshotOutcome {
            try fixture.engine.snapshot(volume: volume, store: store, state: "complete", rehash: rehash, fingerprints: cache, progress: nil)
        }
        let first = try snapshot(cache: cache)
        #expect(first.statistics.chunksFoundAgain == 0)
        #expect(cache.count > 100, "the big file's chunks are remembered, not the small file's")

        Self.apply(edit, to: &bytes)
        try fixture.write("db/big.bin", bytes)
        let fast = try snapshot(cache: cache)
        let whole = try snapshot(rehash: true, cache: nil)
        #expect(fast.record.root == whole.record.root, "the same trees as cutting and hashing the file whole")
        func bigFileChunks(_ outcome: SnapshotOutcome) throws -> [ChunkRef] {
            let directory = try #require(try fixture.tree(outcome.record.root).entries.first { $0.name == Array("db".utf8) }?.subtree)
            return try fixture.tree(directory).entries[0].chunks
        }
        let chunks = try bigFileChunks(fast)
        #expect(chunks.reduce(0) { $0 + $1.length } == bytes.count)
        switch edit {
        case .replaced: #expect(fast.statistics.chunksFoundAgain == 0)
        case .sameBytes: #expect(fast.statistics.chunksFoundAgain == chunks.count)
        default:
            #expect(fast.statistics.chunksFoundAgain > 0)
            #expect(fast.statistics.chunksFoundAgain < chunks.count)
        }

        // What the fast snapshot remembered serves the next one: written again unchanged, every chunk is found.
        try fixture.write("db/big.bin", bytes)
        let again = try snapshot(cache: cache)
        #expect(try bigFileChunks(again) == chunks)
        #expect(again.statistics.chunksFoundAgain == chunks.count)
    }

    /// A chunk found again by its fingerprint is still looked up: one the store lost
    /// (as `verify --repair` drops a damaged chunk) is stored again from the file.
    @Test func aChunkTheStoreLostIsStoredAgain() throws {
        let fixture = try Fixture()
        var bytes = randomBytes(10 << 20, seed: 3)
        try fixture.write("big.bin", bytes)
        let store = try Store(at: fixture.state, access: .write)
        let volume = try #require(try store.index.volume(named: "v"))
        let cache = ChunkFingerprints()
        let first = try fixture.engine.snapshot(volume: volume, store: store, state: "complete", fingerprints: cache, progress: nil)
        let chunks = try fixture.tree(first.record.root).entries[0].chunks
        let lost = chunks[chunks.count / 2].id
        try store.index.relocate(moved: [], deleted: [lost], removedPacks: [], packSizes: [:])
        #expect(try store.index.location(of: lost) == nil)

        bytes[0] ^= 1   // a change elsewhere: the file is read again
        try fixture.write("big.bin", bytes)
        let second = try fixture.engine.snapshot(volume: volume, store: store, state: "complete", fingerprints: cache, progress: nil)
        #expect(second.statistics.chunksFoundAgain > chunks.count / 2)
        #expect(try fixture.tree(second.record.root).entries[0].chunks.contains { $0.id == lost })
        let location = try #require(try store.index.location(of: lost), "the lost chunk is in the store again")
        #expect(BlobID.of(.chunk, try store.read(location, using: Decompressor())) == lost)
    }

    /// A remembered entry serves only the chunk list it was made for, cut with the same parameters.
    @Test func entriesAnswerOnlyForTheirChunksAndParameters() throws {
        let cache = ChunkFingerprints(capacity: 3)
        let chunks = (0..<2).map { ChunkRef(id: BlobID.of(.chunk, [UInt8($0)]), length: 10) }
        let tags = [UInt8(0), 1].map { byte in [byte].withUnsafeBytes { cache.tag($0)! } }
        let parameters = try ChunkerParameters(average: 16384)
        cache.remember(volume: "v", path: Array("a".utf8), .init(parameters: parameters, chunks: chunks, tags: tags))
        #expect(cache.entry(volume: "v", path: Array("a".utf8), chunks: chunks, parameters: parameters) != nil)
        #expect(cache.entry(volume: "w", path: Array("a".utf8), chunks: chunks, parameters: parameters) == nil)
        #expect(cache.entry(volume: "v", path: Array("a".utf8), chunks: Array(chunks.reversed()), parameters: parameters) == nil)
        #expect(cache.entry(volume: "v", path: Array("a".utf8), chunks: chunks, parameters: try ChunkerParameters(average: 32768)) == nil)
        #expect(tags[0] != tags[1] && [UInt8(0)].withUnsafeBytes { cache.tag($0) } == tags[0])
        // Over capacity, the older file goes.
        cache.remember(volume: "v", path: Array("b".utf8), .init(parameters: parameters, chunks: chunks, tags: tags))
        #expect(cache.count == 2)
        #expect(cache.entry(volume: "v", path: Array("a".utf8), chunks: chunks, parameters: parameters) == nil)
        // Another cache's key gives other fingerprints.
        #expect([UInt8(0)].withUnsafeBytes { ChunkFingerprints().tag($0) } != tags[0])
    }
}
