import Foundation
import S3
import Testing

@Suite("Signature Version 4")
struct SigV4SignerTests {
    @Test("canonical request matches the published one", arguments: try SigV4Vector.all())
    func canonicalRequest(vector: SigV4Vector) throws {
        let signed = try vector.signer().sign(vector.request, at: vector.signingDate)
        #expect(signed.canonicalRequest == vector.creq)
    }

    @Test("string to sign matches the published one", arguments: try SigV4Vector.all().filter { $0.sts != nil })
    func stringToSign(vector: SigV4Vector) throws {
        let signed = try vector.signer().sign(vector.request, at: vector.signingDate)
        let sts = try #require(vector.sts)
        #expect(signed.stringToSign == sts)
    }

    @Test("Authorization header matches the published one", arguments: try SigV4Vector.all().filter { $0.authz != nil })
    func authorization(vector: SigV4Vector) throws {
        let signed = try vector.signer().sign(vector.request, at: vector.signingDate)
        // The S3 guide prints the header without blanks after the commas; both forms are accepted.
        func compact(_ value: String) -> String { value.replacingOccurrences(of: ", ", with: ",") }
        let authz = try #require(vector.authz)
        #expect(compact(signed.authorization) == compact(authz))
        #expect(authz.hasSuffix("Signature=" + signed.signature))
    }

    @Test("every skipped suite case says why")
    func skippedCasesHaveReasons() throws {
        let file = try SigV4Vector.file()
        #expect(file.vectors.count >= 30)
        for skipped in file.skipped {
            #expect(!skipped.reason.isEmpty, "\(skipped.name)")
        }
    }

    @Test("a wrong secret gives another signature", arguments: try SigV4Vector.all())
    func wrongSecret(vector: SigV4Vector) throws {
        let right = try vector.signer().sign(vector.request, at: vector.signingDate)
        let wrong = try vector.signer(secret: vector.secretAccessKey + "x").sign(vector.request, at: vector.signingDate)
        #expect(wrong.canonicalRequest == right.canonicalRequest)
        #expect(wrong.signature != right.signature)
    }

    @Test("the signer adds X-Amz-Date, the token and the content hash it signed")
    func addedHeaders() throws {
        let credentials = S3Credentials(accessKeyID: "AKID", secretAccessKey: "wJalrXUtnFEMI", sessionToken: "token")
        let signer = SigV4Signer.s3(credentials: credentials, region: "eu-central-1")
        let request = SignableRequest(method: "PUT", path: "/bucket/key", headers: [(name: "Host", value: "s3.example")],
                                      payloadHash: SignableRequest.unsignedPayload)
        let signed = try signer.sign(request, at: Date(timeIntervalSince1970: 0))
        let added = Dictionary(uniqueKeysWithValues: signed.addedHeaders.map { ($0.name, $0.value) })
        #expect(added == ["X-Amz-Date": "19700101T000000Z", "X-Amz-Security-Token": "token",
                          "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"])
        #expect(signed.authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        #expect(signed.headersToSend.last?.name == "Authorization")
        #expect(!"\(credentials)".contains("wJalrXUtnFEMI"))
        #expect(!"\(credentials)".contains("token"))
    }

    @Test("S3 mode keeps the path as given; the generic mode normalizes it")
    func pathNormalization() throws {
        let request = SignableRequest(method: "GET", path: "/bucket//a/./b/../c d+e",
                                      headers: [(name: "Host", value: "s3.example")])
        let credentials = S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret")
        let s3 = try SigV4Signer.s3(credentials: credentials, region: "us-east-1").sign(request, at: Date())
        #expect(s3.canonicalRequest.split(separator: "\n")[1] == "/bucket//a/./b/../c%20d%2Be")
        let generic = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service",
                                  normalizesPath: true, addsContentSHA256Header: false)
        let normalized = try generic.sign(request, at: Date())
        #expect(normalized.canonicalRequest.split(separator: "\n")[1] == "/bucket/a/c%20d%2Be")
    }

    static let invalidRequests: [(label: String, request: SignableRequest, code: S3Error.Code)] = [
        ("blank in header name", SignableRequest(method: "GET", path: "/", headers: [(name: "Bad Header", value: "x")]), .invalidHeader),
        ("colon in header name", SignableRequest(method: "GET", path: "/", headers: [(name: "a:b", value: "x")]), .invalidHeader),
        ("empty header name", SignableRequest(method: "GET", path: "/", headers: [(name: "", value: "x")]), .invalidHeader),
        ("line break in value", SignableRequest(method: "GET", path: "/", headers: [(name: "A", value: "x\r\nB: y")]), .invalidHeader),
        ("caller-set X-Amz-Date", SignableRequest(method: "GET", path: "/", headers: [(name: "x-amz-date", value: "20150830T123600Z")]), .invalidHeader),
        ("relative path", SignableRequest(method: "GET", path: "bucket/key"), .invalidPath),
        ("blank in method", SignableRequest(method: "GE T", path: "/"), .invalidMethod),
        ("short payload hash", SignableRequest(method: "GET", path: "/", payloadHash: "abc"), .invalidPayloadHash),
        ("uppercase payload hash", SignableRequest(method: "GET", path: "/", payloadHash: SignableRequest.emptyPayloadHash.uppercased()), .invalidPayloadHash),
    ]

    @Test("malformed requests are refused with a typed error", arguments: 0..<invalidRequests.count)
    func refusesMalformedRequest(index: Int) {
        let (label, request, code) = Self.invalidRequests[index]
        let signer = SigV4Signer.s3(credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1")
        do {
            _ = try signer.sign(request, at: Date())
            Issue.record("\(label): signed")
        } catch {
            #expect(error.code == code, "\(label): \(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test("credentials that would break the scope are refused", arguments: [
        ("", "secret", "us-east-1"), ("AKID", "", "us-east-1"), ("AKID", "secret", "us/east"), ("AK ID", "secret", "us-east-1"),
    ])
    func refusesMalformedCredentials(accessKey: String, secret: String, region: String) {
        let signer = SigV4Signer.s3(credentials: S3Credentials(accessKeyID: accessKey, secretAccessKey: secret), region: region)
        #expect(throws: S3Error.self) { try signer.sign(SignableRequest(method: "GET", path: "/"), at: Date()) }
        do {
            _ = try signer.sign(SignableRequest(method: "GET", path: "/"), at: Date())
        } catch {
            #expect(error.code == .invalidCredentials)
        }
    }
}
