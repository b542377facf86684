import Crypto
import Foundation

/// Signs requests with AWS Signature Version 4 (header-based, single-chunk payload).
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
public struct SigV4Signer: Sendable {
    public let credentials: S3Credentials
    public let region: String
    public let service: String
    /// Resolve "//", "." and ".." in the path before encoding. The generic AWS services
    /// expect it; S3 must not get it (its keys may contain those sequences).
    public let normalizesPath: Bool
    /// Add and sign `X-Amz-Content-Sha256` with the payload hash, which S3 requires.
    public let addsContentSHA256Header: Bool

    static let algorithm = "AWS4-HMAC-SHA256"

    public init(credentials: S3Credentials, region: String, service: String,
                normalizesPath: Bool, addsContentSHA256Header: Bool) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizesPath = normalizesPath
        self.addsContentSHA256Header = addsContentSHA256Header
    }

    /// A signer with S3's rules: path kept as given, content hash header added.
    public static func s3(credentials: S3Credentials, region: String) -> SigV4Signer {
        SigV4Signer(credentials: credentials, region: region, service: "s3",
                    normalizesPath: false, addsContentSHA256Header: true)
    }

    /// SHA-256 of a body as lowercase hex, the form `SignableRequest.payloadHash` takes.
    public static func payloadHash(of body: some DataProtocol) -> String {
        hex(SHA256.hash(data: body))
    }

    public func sign(_ request: SignableRequest, at date: Date) throws(S3Error) -> SigV4Signature {
        try validate(request)
        let amzDate = Self.amzDate(date)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"

        var added: [(name: String, value: String)] = [(name: "X-Amz-Date", value: amzDate)]
        if let token = credentials.sessionToken {
            added.append((name: "X-Amz-Security-Token", value: token))
        }
        if addsContentSHA256Header {
            added.append((name: "X-Amz-Content-Sha256", value: request.payloadHash))
        }
        let headers = try canonicalHeaders(request.headers, added: added)
        let signedHeaders = headers.map(\.name).joined(separator: ";")

        let canonicalRequest = [
            request.method,
            URIEncoding.canonicalPath(request.path, normalizing: normalizesPath),
            URIEncoding.canonicalQuery(request.queryItems),
            headers.map { "\($0.name):\($0.value)\n" }.joined(),
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")

        let stringToSign = [
            Self.algorithm, amzDate, scope,
            Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        let signature = Self.hex(HMAC<SHA256>.authenticationCode(
            for: Data(stringToSign.utf8), using: signingKey(day: day)))
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return SigV4Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign,
                              signature: signature, authorization: authorization, addedHeaders: added)
    }

    /// HMAC chain "AWS4"+secret -> day -> region -> service -> "aws4_request". It depends
    /// only on the day, so a client may cache it; recomputing costs four HMACs.
    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// Lowercased names, trimmed values with runs of blanks collapsed, repeated names
    /// joined with "," in request order, sorted by name.
    private func canonicalHeaders(_ headers: [(name: String, value: String)],
                                  added: [(name: String, value: String)]) throws(S3Error) -> [(name: String, value: String)] {
        let addedNames = Set(added.map { $0.name.lowercased() })
        var values: [String: [String]] = [:]
        for header in headers {
            let name = header.name.lowercased()
            // A second X-Amz-Date would make the signed value ambiguous.
            if addedNames.contains(name) {
                throw S3Error(.invalidHeader, "header \(header.name) is set by the signer")
            }
            values[name, default: []].append(Self.trimmedValue(header.value))
        }
        for header in added {
            values[header.name.lowercased(), default: []].append(header.value)
        }
        return values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .map { (name: $0, value: values[$0]!.joined(separator: ",")) }
    }

    private static func trimmedValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    private func validate(_ request: SignableRequest) throws(S3Error) {
        for (field, value) in [("access key id", credentials.accessKeyID), ("region", region), ("service", service)] {
            // These go into the credential scope, where "/" or a blank would change its meaning.
            if value.isEmpty || value.contains(where: { $0 == "/" || $0.isWhitespace || $0 == "," }) {
                throw S3Error(.invalidCredentials, "\(field) \"\(value)\" is empty or contains \"/\", \",\" or a blank")
            }
        }
        if credentials.secretAccessKey.isEmpty {
            throw S3Error(.invalidCredentials, "secret access key is empty")
        }
        if !Self.isToken(request.method) {
            throw S3Error(.invalidMethod, "method \"\(request.method)\" is not an HTTP token")
        }
        if !request.path.hasPrefix("/") {
            throw S3Error(.invalidPath, "path \"\(request.path)\" does not start with \"/\"")
        }
        for header in request.headers {
            if !Self.isToken(header.name) {
                throw S3Error(.invalidHeader, "header name \"\(header.name)\" is not an HTTP token")
            }
            // A line break would let the value forge another header line.
            // Scalars, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n".
            if header.value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw S3Error(.invalidHeader, "header \(header.name) has a line break or NUL in its value")
            }
        }
        let hash = request.payloadHash
        let isHex = hash.utf8.count == 64 && hash.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        if !isHex && !Self.payloadLiterals.contains(hash) {
            throw S3Error(.invalidPayloadHash, "payload hash \"\(hash)\" is not 64 lowercase hex digits nor a known literal")
        }
    }

    private static let payloadLiterals: Set<String> = [
        SignableRequest.unsignedPayload, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    ]

    /// RFC 9110 token: the characters a method or header name may use.
    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// yyyyMMdd'T'HHmmss'Z' in UTC, computed from the calendar rather than a DateFormatter,
    /// whose output depends on the process locale.
    static func amzDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z"
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
