/// The percent-encoding and path rules of Signature Version 4's canonical request.
/// Foundation's encoders use other reserved sets (and treat "+" and "/" differently),
/// so the signer does its own: one wrong byte here and AWS answers SignatureDoesNotMatch.
enum URIEncoding {
    /// Percent-encodes every byte of the UTF-8 form except RFC 3986's unreserved set
    /// (A-Z a-z 0-9 - . _ ~), with uppercase hex as AWS requires.
    static func encode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// Encodes each segment of a decoded path, keeping the "/" separators. With
    /// `normalizing`, empty, "." and ".." segments are resolved first (RFC 3986 5.2.4),
    /// which the generic AWS services expect and S3 must not get: for S3 "a//b" and "a/./b"
    /// are different keys.
    static func canonicalPath(_ path: String, normalizing: Bool) -> String {
        if path.isEmpty { return "/" }
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if normalizing {
            let endsInSlash = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
            var kept: [String] = []
            for segment in segments {
                switch segment {
                case "", ".": continue
                case "..": if !kept.isEmpty { kept.removeLast() }
                default: kept.append(segment)
                }
            }
            if kept.isEmpty { return "/" }
            segments = [""] + kept + (endsInSlash ? [""] : [])
        }
        return segments.map(encode).joined(separator: "/")
    }

    /// Encodes keys and values, then sorts by encoded key and, for equal keys, encoded
    /// value: the spec sorts the encoded form (byte order), not the decoded one.
    static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        items.map { (name: encode($0.name), value: encode($0.value)) }
            .sorted { lhs, rhs in
                if lhs.name != rhs.name { return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8) }
                return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
            }
            .map { "\($0.name)=\($0.value)" }
            .joined(separator: "&")
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
