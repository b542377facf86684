import Foundation
import Testing
@testable import Repository

struct HeaderCase: Codable, Sendable, CustomTestStringConvertible {
    let name: String
    let header: String
    let error: String?
    var testDescription: String { name }
}

@Suite struct PackFormatTests {
    static let cases = TestData.cases("repository/record-headers.json", of: HeaderCase.self)

    @Test func casesAreLoaded() { #expect(Self.cases.count >= 10) }

    @Test(arguments: cases)
    func headerDecoding(_ testCase: HeaderCase) throws {
        let bytes = try #require([UInt8](hexString: testCase.header))
        do {
            let header = try PackFormat.RecordHeader.decode(bytes, what: "test")
            #expect(testCase.error == nil, "decoded a header that should fail with \(testCase.error ?? "")")
            #expect(header.encoded() == bytes)
        } catch let error as RepositoryError {
            #expect(error.code.rawValue == testCase.error, "\(error)")
        }
    }

    @Test func headerRoundTrip() throws {
        let header = PackFormat.RecordHeader(kind: .tree, compression: .zstd, storedLength: 123, rawLength: 456,
                                             id: BlobID.hash([1, 2, 3]))
        let encoded = header.encoded()
        #expect(encoded.count == PackFormat.headerLength)
        #expect(try PackFormat.RecordHeader.decode(encoded, what: "t") == header)
    }

    /// Random and mutated input never crashes the decoders: it decodes or throws.
    @Test(arguments: 0..<4)
    func decodersSurviveGarbage(_ seed: Int) {
        let valid = sampleRecord(root: BlobID.hash([9])).encoded()
        for round in 0..<2000 {
            var bytes = round % 2 == 0 ? valid : Bytes.random(Int(UInt64(round) % 200), seed: UInt64(seed * 10_000 + round))
            if round % 2 == 0, !bytes.isEmpty {
                let flips = Bytes.random(3, seed: UInt64(round + seed))
                bytes[Int(flips[0]) % bytes.count] ^= flips[1] | 1
                if flips[2] % 3 == 0 { bytes.removeLast(Int(flips[2]) % bytes.count) }
            }
            if let record = try? SnapshotRecord.decode(bytes) { #expect(record.encoded() == bytes) }
            _ = try? PackFormat.RecordHeader.decode(bytes, what: "fuzz")
        }
    }

    @Test func snapshotRecordRoundTrip() throws {
        var record = sampleRecord(root: BlobID.hash([7]))
        record.parent = BlobID.hash([8])
        #expect(try SnapshotRecord.decode(record.encoded()) == record)
        #expect(record.id == BlobID.of(.snapshot, record.encoded()))
        #expect(record.id != BlobID.of(.chunk, record.encoded()), "snapshot ids are domain-separated from chunk ids")
    }

    @Test func blobIDHex() throws {
        let id = BlobID.hash(Array("abc".utf8))
        #expect(id.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(BlobID(hex: id.hex) == id)
        #expect(BlobID(hex: "zz") == nil)
    }
}
