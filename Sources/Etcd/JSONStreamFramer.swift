/// Cuts a byte stream into top-level JSON objects, however the bytes were split
/// into chunks. The gateway writes one object per message followed by a newline,
/// but a chunk may end anywhere, even inside a string, so objects are found by
/// their braces (outside strings) rather than by newlines.
///
/// Bounded: an object longer than `maxObjectBytes` fails the stream, and so does
/// anything between objects other than whitespace.
struct JSONStreamFramer {
    enum Failure: Error, Equatable {
        case tooLarge(limit: Int)
        case notAnObject(byte: UInt8)
        case truncated(bytes: Int)
    }

    let maxObjectBytes: Int
    private var buffer: [UInt8] = []
    /// Where the object being scanned starts; bytes before it are consumed.
    private var start = 0
    /// How far the scan has come; the state below describes buffer[start..<scanned].
    private var scanned = 0
    private var depth = 0
    private var inString = false
    private var escaped = false

    init(maxObjectBytes: Int) {
        self.maxObjectBytes = maxObjectBytes
    }

    mutating func append(_ bytes: some Sequence<UInt8>) {
        // Drop what earlier objects used before growing, so the buffer stays
        // about one object long however long the stream runs.
        if start > 0 {
            buffer.removeFirst(start)
            scanned -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete object, or nil until more bytes arrive.
    mutating func next() throws(Failure) -> [UInt8]? {
        while scanned < buffer.count {
            let byte = buffer[scanned]
            scanned += 1
            if depth == 0 {
                // Between objects: only whitespace may appear, then an object.
                switch byte {
                case 0x20, 0x09, 0x0a, 0x0d:
                    start = scanned
                    continue
                case UInt8(ascii: "{"):
                    depth = 1
                    continue
                default:
                    throw .notAnObject(byte: byte)
                }
            }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
            }
            if scanned - start > maxObjectBytes { throw .tooLarge(limit: maxObjectBytes) }
            if depth == 0 {
                let object = Array(buffer[start..<scanned])
                start = scanned
                return object
            }
        }
        if scanned - start > maxObjectBytes { throw .tooLarge(limit: maxObjectBytes) }
        return nil
    }

    /// Call when the stream has ended: fails if an object was cut off.
    func finish() throws(Failure) {
        if depth > 0 { throw .truncated(bytes: scanned - start) }
    }
}
