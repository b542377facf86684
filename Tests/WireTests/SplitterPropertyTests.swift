import Testing

import TestSupport
import Wire

/// What one `next()` gave.
enum Step: Equatable, CustomStringConvertible {
    case needsMore
    case message(Message)
    case failed(WireError.Code)

    init(_ splitter: inout FrameSplitter) {
        do {
            self = try splitter.next().map(Step.message) ?? .needsMore
        } catch {
            self = .failed(error.code)
        }
    }

    var description: String {
        switch self {
        case .needsMore: "needs more"
        case let .message(message): "a \(message.kind) message"
        case let .failed(code): "\(code)"
        }
    }
}

/// Everything a splitter makes of `stream` fed in pieces ending at `cuts`, draining after each
/// piece, up to the first failure (a session ends there).
func drain(_ stream: [UInt8], cuts: [Int]) -> (messages: [Message], failure: WireError.Code?, pending: Int) {
    var splitter = FrameSplitter()
    var messages: [Message] = []
    var start = 0
    for cut in cuts.map({ min($0, stream.count) }) + [stream.count] where cut >= start {
        splitter.append(stream[start..<cut])
        start = cut
        frames: while true {
            switch Step(&splitter) {
            case .needsMore: break frames
            case let .message(message): messages.append(message)
            case let .failed(code): return (messages, code, splitter.pendingByteCount)
            }
        }
    }
    return (messages, nil, splitter.pendingByteCount)
}

/// The message survives encode then decode (what a relay or a retry relies on).
func survivesRoundTrip(_ message: Message) -> Bool {
    let frame = message.encodedFrame()
    return (try? Message.decode(type: frame[4], payload: Array(frame[5...]))) == message
}

func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

/// Seeded properties of `FrameSplitter` and `Message.decode`: the same inputs on every run.
@Suite struct SplitterPropertyTests {
    /// Well-framed bytes: every valid frame, and the malformed ones whose length prefix is exact.
    static func framedBytes() throws -> [[UInt8]] {
        let valid = try WireVectors.decodedFrames().map(\.bytes)
        let malformed = try WireVectors.invalid.map { try hexBytes($0.hex) }.filter {
            $0.count >= 5 && (try? FrameSplitter.frameLength($0.prefix(4))) == $0.count - 4
        }
        return valid + malformed
    }

    @Test func everyStrictPrefixNeedsMoreData() throws {
        var surprises: [String] = []
        for frame in try Self.framedBytes() {
            // Byte by byte: the splitter sees each strict prefix in turn.
            var splitter = FrameSplitter()
            for (index, byte) in frame.dropLast().enumerated() {
                splitter.append(CollectionOfOne(byte))
                let step = Step(&splitter)
                if step != .needsMore { surprises.append("\(hex(frame.prefix(5))): \(step) after \(index + 1) bytes") }
            }
            // A fresh splitter given the prefix at once, for the frames where that stays cheap.
            guard frame.count <= 2048 else { continue }
            for cut in 0..<frame.count {
                var fresh = FrameSplitter()
                fresh.append(frame[..<cut])
                let step = Step(&fresh)
                if step != .needsMore { surprises.append("\(hex(frame.prefix(5))): \(step) from a \(cut)-byte prefix") }
            }
        }
        #expect(surprises.isEmpty, "\(surprises.prefix(10))")
    }

    @Test func randomBytesDecodeOrThrow() {
        var rng = SplitMix64(seed: 0x5749_5245)
        let kinds = Message.Kind.allCases.map(\.rawValue)
        var decoded = 0, refused = 0, broken: [String] = []
        for round in 0..<4000 {
            // Mostly known types, so the payload decoders are reached, not just the type check.
            let type = round % 4 == 0 ? UInt8(rng.below(256)) : kinds[rng.below(kinds.count)]
            let payload = rng.bytes(rng.below(round % 2 == 0 ? 48 : 600))
            do {
                let message = try Message.decode(type: type, payload: payload)
                decoded += 1
                if !survivesRoundTrip(message) { broken.append(hex([type] + payload)) }
            } catch {
                refused += 1
            }
        }
        #expect(decoded > 0 && refused > 0, "decoded \(decoded), refused \(refused)")
        #expect(broken.isEmpty, "\(broken.prefix(5))")
    }

    /// Valid frames with a few bytes changed, cut or inserted, through the splitter.
    @Test func mutatedFramesDecodeOrThrow() throws {
        let frames = try Self.framedBytes().filter { $0.count <= 4096 }
        var rng = SplitMix64(seed: 0x6D75_7461_7465)
        var decoded = 0, refused = 0, broken: [String] = []
        for _ in 0..<3000 {
            var frame = frames[rng.below(frames.count)]
            var fixLength = true
            switch rng.below(4) {
            case 0:
                for _ in 0...rng.below(3) { frame[4 + rng.below(frame.count - 4)] ^= UInt8(1 + rng.below(255)) }
            case 1:
                frame.removeLast(rng.below(frame.count - 4))
            case 2:
                frame.insert(contentsOf: rng.bytes(1 + rng.below(8)), at: 5 + rng.below(frame.count - 4))
            default:
                // The length prefix too: the splitter must cope with whatever it announces.
                frame[rng.below(frame.count)] = UInt8(rng.below(256))
                fixLength = false
            }
            if fixLength { frame.replaceSubrange(0..<4, with: bigEndian(UInt32(frame.count - 4))) }
            let outcome = drain(frame, cuts: [])
            decoded += outcome.messages.count
            refused += outcome.failure == nil ? 0 : 1
            broken += outcome.messages.filter { !survivesRoundTrip($0) }.map { _ in hex(frame) }
        }
        #expect(decoded > 0 && refused > 0, "decoded \(decoded), refused \(refused)")
        #expect(broken.isEmpty, "\(broken.prefix(5))")
    }

    @Test func splitAtEveryBoundaryDecodesTheSame() throws {
        var rng = SplitMix64(seed: 0x7370_6C69_74)
        var surprises: [String] = []
        for (frame, message) in try WireVectors.decodedFrames() {
            // Every cut costs a copy of the frame, so big frames get their ends and a seeded sample.
            let cuts = frame.count <= 4096
                ? Array(0...frame.count)
                : Array(0...64) + Array((frame.count - 64)...frame.count) + (0..<64).map { _ in rng.below(frame.count + 1) }
            for cut in cuts {
                var splitter = FrameSplitter()
                splitter.append(frame[..<cut])
                let first = Step(&splitter)
                splitter.append(frame[cut...])
                let steps = cut == frame.count ? [first, Step(&splitter)] : [Step(&splitter), first]
                if steps != [.message(message), .needsMore] || splitter.pendingByteCount != 0 {
                    surprises.append("\(message.kind) cut at \(cut): \(steps)")
                }
            }
        }
        #expect(surprises.isEmpty, "\(surprises.prefix(10))")
    }

    /// All vectors back to back, three times (past the splitter's 64 KiB compaction point), in
    /// seeded pieces and byte by byte.
    @Test(arguments: [UInt64(1), 2, 3, 0])
    func streamInPiecesDecodesTheSame(seed: UInt64) throws {
        let frames = try WireVectors.decodedFrames()
        let stream = Array(Array(repeating: frames.flatMap(\.bytes), count: 3).joined())
        let expected = Array(Array(repeating: frames.map(\.message), count: 3).joined())
        var cuts: [Int] = []
        if seed == 0 {
            cuts = Array(0..<stream.count)
        } else {
            var rng = SplitMix64(seed: seed)
            while (cuts.last ?? 0) < stream.count { cuts.append((cuts.last ?? 0) + 1 + rng.below(seed == 1 ? 16 : 4096)) }
        }
        let outcome = drain(stream, cuts: cuts)
        #expect(outcome.failure == nil)
        #expect(outcome.pending == 0)
        #expect(outcome.messages.count == expected.count)
        #expect(outcome.messages == expected)
    }

    /// A bad frame ends the stream with its code; the frames before it still arrive.
    @Test(arguments: WireVectors.invalid)
    func badFrameInAStreamEndsIt(_ vector: InvalidVector) throws {
        let frames = try WireVectors.decodedFrames().filter { $0.bytes.count < 1024 }.prefix(5)
        let stream = frames.flatMap(\.bytes) + (try hexBytes(vector.hex)) + frames.flatMap(\.bytes)
        let outcome = drain(stream, cuts: Array(stride(from: 0, to: stream.count, by: 7)))
        #expect(outcome.messages == frames.map(\.message))
        #expect(outcome.failure.map { "\($0)" } == vector.code)
    }

    @Test(arguments: [UInt32(0), UInt32(WireLimits.maxFrameLength + 1), 0x8000_0000, 0xFFFF_FFFF])
    func hostileLengthIsRefusedFromThePrefixAlone(length: UInt32) throws {
        var splitter = FrameSplitter()
        splitter.append(bigEndian(length))
        #expect(Step(&splitter) == .failed(.limitExceeded))
        #expect(throws: WireError.self) { try FrameSplitter.frameLength(bigEndian(length)) }

        // Behind a valid frame in the same read: the frame arrives, then the refusal.
        let (hello, message) = try #require(WireVectors.decodedFrames().first)
        var behind = FrameSplitter()
        behind.append(hello + bigEndian(length))
        #expect(Step(&behind) == .message(message))
        #expect(Step(&behind) == .failed(.limitExceeded))
    }

    @Test func largestLengthWaitsForItsPayload() throws {
        var splitter = FrameSplitter()
        splitter.append(bigEndian(UInt32(WireLimits.maxFrameLength)))
        #expect(Step(&splitter) == .needsMore)
        splitter.append([UInt8](repeating: Message.Kind.blob.rawValue, count: 4096))
        #expect(Step(&splitter) == .needsMore)
        #expect(splitter.pendingByteCount == 4100)
        #expect(try FrameSplitter.frameLength(bigEndian(UInt32(WireLimits.maxFrameLength))) == WireLimits.maxFrameLength)
    }
}
