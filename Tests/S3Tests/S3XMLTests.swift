import Foundation
@testable import S3
import Testing

/// One case of testdata/s3/xml/cases.json: an answer as S3 (or moto) sends it and what must be read from it.
struct XMLCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let xml: String
    let keys: [String]
    let sizes: [Int]
    let truncated: String?
    let token: String?
    let code: String?
    let message: String?
    let uploadId: String?
    var testDescription: String { name }

    static func all() throws -> [XMLCase] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try JSONDecoder().decode([XMLCase].self, from: Data(contentsOf: root.appendingPathComponent("testdata/s3/xml/cases.json")))
    }
}

@Suite struct S3XMLTests {
    @Test(arguments: try XMLCase.all())
    func readsWhatS3Says(_ vector: XMLCase) {
        let body = Array(vector.xml.utf8)
        let entries = S3XML.elements("Contents", in: body[...]).map { body[$0] }
        #expect(entries.map { S3XML.values(of: "Key", in: $0).first } == vector.keys)
        #expect(entries.map { S3XML.values(of: "Size", in: $0).first.flatMap(Int.init) } == vector.sizes)
        #expect(S3XML.value(of: "IsTruncated", in: body) == vector.truncated)
        #expect(S3XML.value(of: "NextContinuationToken", in: body) == vector.token)
        #expect(S3XML.value(of: "Code", in: body) == vector.code)
        #expect(S3XML.value(of: "Message", in: body) == vector.message)
        #expect(S3XML.value(of: "UploadId", in: body) == vector.uploadId)
        // "<Key" never matches "<KeyCount".
        if vector.xml.contains("<ListBucketResult") { #expect(S3XML.values(of: "Key", in: body[...]) == vector.keys) }
    }

    @Test func cutAndGarbledAnswersGiveNothingRatherThanCrash() {
        var rng = SystemRandomNumberGenerator()
        let sample = Array(try! XMLCase.all()[0].xml.utf8)
        for cut in stride(from: 0, to: sample.count, by: 7) {
            _ = S3XML.values(of: "Key", in: sample[..<cut])
            var garbled = sample
            garbled[Int.random(in: 0..<garbled.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            _ = S3XML.elements("Contents", in: garbled[...])
        }
    }

    @Test(arguments: [
        ("http://127.0.0.1:9000", "127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("https://s3.eu-central-1.amazonaws.com/", "s3.eu-central-1.amazonaws.com", "https://s3.eu-central-1.amazonaws.com"),
        ("http://[::1]:9000", "[::1]:9000", "http://[::1]:9000"),
        ("https://minio.local:443", "minio.local", "https://minio.local"),
    ])
    func endpoints(_ text: String, _ host: String, _ base: String) throws {
        let endpoint = try S3Endpoint(text)
        #expect(endpoint.hostHeader == host && endpoint.base == base)
    }

    @Test(arguments: ["ftp://x", "http://", "http://host/bucket", "http://host:0", "http://host:99999", "host:9000", "http://u@host"])
    func badEndpointsAreRefused(_ text: String) {
        #expect(throws: S3Error.self) { try S3Endpoint(text) }
    }
}
