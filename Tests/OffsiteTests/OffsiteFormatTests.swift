import Foundation
import Testing
import TestSupport
import Repository
@testable import Offsite

/// The sealed formats alone, no server: every change to a sealed object is refused, the
/// decoders stay within their bounds on any input, key files are handled with care.
@Suite struct OffsiteFormatTests {
    static let key = try! OffsiteKey(material: Array(repeating: 7, count: 32))

    enum Change: String, CaseIterable, Sendable {
        case flipFirstCiphertextByte, flipTag, flipNonce, truncate, extend, otherName, otherRepository, otherKey, empty, plaintext
    }

    @Test(arguments: Change.allCases)
    func anyChangeToASealedObjectIsRefused(_ change: Change) throws {
        let plain = randomBytes(5000, seed: 3)
        var sealed = try SealedObject.seal(plain, name: "data.ab", repository: "r1", key: Self.key)
        #expect(try SealedObject.open(sealed, name: "data.ab", repository: "r1", key: Self.key) == plain)
        var name = "data.ab", repository = "r1", key = Self.key
        switch change {
        case .flipFirstCiphertextByte: sealed[17] ^= 1
        case .flipTag: sealed[sealed.count - 1] ^= 0x80
        case .flipNonce: sealed[6] ^= 4
        case .truncate: sealed.removeLast(100)
        case .extend: sealed += [0]
        case .otherName: name = "data.ac"
        case .otherRepository: repository = "r2"
        case .otherKey: key = try OffsiteKey(material: Array(repeating: 8, count: 32))
        case .empty: sealed = []
        case .plaintext: sealed = plain
        }
        let error = #expect(throws: OffsiteError.self) { try SealedObject.open(sealed, name: name, repository: repository, key: key) }
        #expect(error?.code == .tampered)
    }

    @Test func twoSealsOfTheSameBytesDiffer() throws {
        let a = try SealedObject.seal([1, 2, 3], name: "n", repository: "r", key: Self.key)
        let b = try SealedObject.seal([1, 2, 3], name: "n", repository: "r", key: Self.key)
        #expect(a != b, "a fresh random nonce each time")
    }

    @Test func packIndexAndCatalogRoundTripAndRefuseAnyCut() throws {
        var builder = PackBuilder()
        for seed in 0..<5 {
            let raw = randomBytes(1000 + seed, seed: UInt64(seed))
            let id = BlobID.of(.chunk, raw)
            let record = PackFormat.RecordHeader(kind: .chunk, compression: .none, storedLength: raw.count, rawLength: raw.count, id: id).encoded() + raw
            record.withUnsafeBytes { builder.append(BlobLocation(id: id, kind: .chunk, pack: 1, offset: 0, storedLength: raw.count,
                                                                 rawLength: raw.count, compression: .none), record: $0) }
        }
        let index = PackIndex(sealedLength: builder.size + SealedObject.overhead + 1, plainLength: builder.size, entries: builder.entries)
        let encoded = index.encoded()
        #expect(try PackIndex.decode(encoded, what: "i") == index)
        for cut in 0..<encoded.count { #expect(throws: OffsiteError.self) { try PackIndex.decode(Array(encoded.prefix(cut)), what: "i") } }
        var lying = index
        lying.plainLength += 1
        #expect(throws: OffsiteError.self) { try PackIndex.decode(lying.encoded(), what: "i") }
        var huge = index
        huge.sealedLength = 1 << 29
        #expect(throws: OffsiteError.self) { try PackIndex.decode(huge.encoded(), what: "i") }
        var overlapping = index
        overlapping.entries[1].offset -= 1
        #expect(throws: OffsiteError.self) { try PackIndex.decode(overlapping.encoded(), what: "i") }

        let catalog = Catalog(generation: 4, collections: 2, collectingSince: 0, snapshots: [])
        #expect(try Catalog.decode(catalog.encoded(), generation: 4) == catalog)
        let older = #expect(throws: OffsiteError.self) { try Catalog.decode(catalog.encoded(), generation: 5) }
        #expect(older?.code == .tampered)
    }

    @Test func randomBytesNeverCrashTheDecoders() {
        var rng = SplitMix64(seed: 17)
        for _ in 0..<2000 {
            let bytes = rng.bytes(rng.below(200))
            _ = try? PackIndex.decode(Array("BRGI".utf8) + [1] + bytes, what: "fuzz")
            _ = try? Catalog.decode(Array("BRGC".utf8) + [1] + bytes, generation: 0)
            _ = try? SealedObject.open(Array("BRGS".utf8) + [1] + bytes, name: "x", repository: "r", key: Self.key)
        }
    }

    @Test func keyFilesAreCreatedOnceAndReadOnlyWhenPrivate() throws {
        let directory = "/tmp/barge-offsite-key-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/key"
        let made = try OffsiteKey.generate(path: path)
        #expect(try OffsiteKey.load(path: path).fingerprint == made.fingerprint)
        #expect(throws: OffsiteError.self) { try OffsiteKey.generate(path: path) }
        chmod(path, 0o644)
        let loose = #expect(throws: OffsiteError.self) { try OffsiteKey.load(path: path) }
        #expect(loose?.hint?.contains("chmod 600") == true)
        chmod(path, 0o600)
        try "not a key\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(throws: OffsiteError.self) { try OffsiteKey.load(path: path) }
        #expect(throws: OffsiteError.self) { try OffsiteKey.load(path: directory + "/missing") }
    }

    @Test func objectNamesParseOnlyWhatTheyWrite() {
        let id = ObjectName.newPackID()
        #expect(ObjectName.packID(of: ObjectName.pack(id)[...], prefix: ObjectName.dataPrefix) == id)
        #expect(ObjectName.packID(of: "data.\(id.uppercased())"[...], prefix: ObjectName.dataPrefix) == nil)
        #expect(ObjectName.packID(of: "data.\(id)x"[...], prefix: ObjectName.dataPrefix) == nil)
        #expect(ObjectName.generation(of: ObjectName.catalog(0x1234)[...]) == 0x1234)
        #expect(ObjectName.generation(of: "catalog.12"[...]) == nil)
    }
}
