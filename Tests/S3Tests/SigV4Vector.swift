import Foundation
import S3
import Testing

/// One case of testdata/s3/sigv4/vectors.json; its "about" field documents the format.
struct SigV4Vector: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let source: String
    let mode: String
    let accessKeyID: String
    let secretAccessKey: String
    let region: String
    let service: String
    let date: String
    let sessionToken: String?
    let method: String
    let path: String
    let query: [[String]]
    let headers: [[String]]
    let body: String
    let unsignedPayload: Bool
    let creq: String
    /// Nil where the published string to sign does not follow from the published canonical
    /// request (see the JSON's "skipped" array).
    let sts: String?
    let authz: String?

    var testDescription: String { name }

    struct Skipped: Decodable, Sendable {
        let name: String
        let reason: String
    }

    struct File: Decodable, Sendable {
        let vectors: [SigV4Vector]
        let skipped: [Skipped]
    }

    static func file() throws -> File {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("testdata/s3/sigv4/vectors.json"))
        return try JSONDecoder().decode(File.self, from: data)
    }

    static func all() throws -> [SigV4Vector] { try file().vectors }

    /// The signer the vector's mode calls for, optionally with another secret.
    func signer(secret: String? = nil) -> SigV4Signer {
        let credentials = S3Credentials(accessKeyID: accessKeyID, secretAccessKey: secret ?? secretAccessKey,
                                        sessionToken: sessionToken)
        let isS3 = mode == "s3"
        return SigV4Signer(credentials: credentials, region: region, service: service,
                           normalizesPath: !isS3, addsContentSHA256Header: isS3)
    }

    var request: SignableRequest {
        SignableRequest(
            method: method, path: path,
            queryItems: query.map { (name: $0[0], value: $0[1]) },
            headers: headers.map { (name: $0[0], value: $0[1]) },
            payloadHash: unsignedPayload ? SignableRequest.unsignedPayload : SigV4Signer.payloadHash(of: Data(body.utf8)))
    }

    /// "20150830T123600Z" as a Date.
    var signingDate: Date {
        let digits = Array(date.utf8)
        func number(_ range: Range<Int>) -> Int { Int(String(decoding: digits[range], as: UTF8.self))! }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: number(0..<4), month: number(4..<6), day: number(6..<8),
                                        hour: number(9..<11), minute: number(11..<13), second: number(13..<15))
        return calendar.date(from: components)!
    }
}
