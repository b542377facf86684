/// The few values barge reads from S3's XML answers (error codes, list results, upload ids).
/// S3's answers are flat and regular; a scanner for `<Tag>text</Tag>` with the five
/// predefined entities is all that is needed, and it never allocates beyond the answer.
enum S3XML {
    /// The text of the first `<tag>` element, entities decoded.
    static func value(of tag: String, in body: [UInt8]) -> String? {
        values(of: tag, in: body[...]).first
    }

    /// The text of every `<tag>` element in order.
    static func values(of tag: String, in body: ArraySlice<UInt8>) -> [String] {
        elements(tag, in: body).map { decode(body[$0]) }
    }

    /// The byte ranges inside each `<tag>...</tag>` (attributes on the opening tag allowed).
    static func elements(_ tag: String, in body: ArraySlice<UInt8>) -> [Range<Int>] {
        let open = Array("<\(tag)".utf8)
        let close = Array("</\(tag)>".utf8)
        var ranges: [Range<Int>] = []
        var index = body.startIndex
        while let start = find(open, in: body, from: index) {
            let after = start + open.count
            guard after < body.endIndex else { break }
            // "<Key" must not match "<KeyCount".
            let next = body[after]
            guard next == UInt8(ascii: ">") || next == UInt8(ascii: " ") else { index = after; continue }
            guard let tagEnd = body[after...].firstIndex(of: UInt8(ascii: ">")) else { break }
            if body[tagEnd - 1] == UInt8(ascii: "/") { ranges.append(tagEnd..<tagEnd); index = tagEnd + 1; continue }
            guard let end = find(close, in: body, from: tagEnd + 1) else { break }
            ranges.append((tagEnd + 1)..<end)
            index = end + close.count
        }
        return ranges
    }

    private static func find(_ needle: [UInt8], in body: ArraySlice<UInt8>, from: Int) -> Int? {
        guard needle.count <= body.endIndex - from else { return nil }
        var index = from
        let last = body.endIndex - needle.count
        while index <= last {
            if body[index] == needle[0] && body[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let tail = rest[amp...]
            guard let semi = tail.firstIndex(of: ";"), tail.distance(from: amp, to: semi) <= 10 else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = tail[tail.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(code) {
                    out.unicodeScalars.append(scalar)
                } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out += "&" + entity + ";"
                }
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
