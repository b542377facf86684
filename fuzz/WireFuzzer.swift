// libFuzzer target for the Wire frame decoder. scripts/fuzz.sh compiles it
// together with Sources/Wire/*.swift into one module, so there is no import.
//
// Checks, on any input: the splitter fed the bytes whole and in pieces reaches
// the same messages and the same end; and every message that decodes
// re-encodes to a frame that decodes to it again. A mismatch traps: it is a bug.

/// What a splitter made of a stream: the messages, then how it stopped.
private struct Outcome: Equatable {
    var messages: [Message] = []
    var error: WireError.Code?
    var pending = 0
}

/// Feeds `bytes` in pieces ending at `cuts` (ascending), draining after each.
private func split(_ bytes: [UInt8], cuts: [Int]) -> Outcome {
    var splitter = FrameSplitter()
    var outcome = Outcome()
    var start = 0
    for cut in cuts + [bytes.count] where cut >= start {
        splitter.append(bytes[start..<cut])
        start = cut
        do {
            while let message = try splitter.next() { outcome.messages.append(message) }
        } catch {
            // A session ends at its first bad frame: nothing after it counts.
            outcome.error = error.code
            return outcome
        }
    }
    outcome.pending = splitter.pendingByteCount
    return outcome
}

/// Unknown error codes decode as internalError, so only those frames may re-encode differently.
private func mapsCode(_ type: UInt8, _ payload: ArraySlice<UInt8>) -> Bool {
    guard type == Message.Kind.error.rawValue, payload.count >= 2 else { return false }
    let raw = UInt16(payload[payload.startIndex]) << 8 | UInt16(payload[payload.startIndex + 1])
    return WireError.Code(rawValue: raw) == nil
}

private func checkRoundTrip(_ message: Message, type: UInt8, payload: ArraySlice<UInt8>) {
    let frame = message.encodedFrame()
    guard frame.count >= 5, (try? FrameSplitter.frameLength(frame.prefix(4))) == frame.count - 4 else {
        fatalError("bad length prefix re-encoding a \(message.kind) frame")
    }
    if !mapsCode(type, payload) {
        // Decoding accepts one encoding per message: the bytes must come back unchanged.
        guard frame[4] == type, frame[5...].elementsEqual(payload) else {
            fatalError("re-encoding a \(message.kind) frame changed its bytes (\(payload.count + 1) → \(frame.count - 4))")
        }
    }
    var splitter = FrameSplitter()
    splitter.append(frame)
    guard let again = try? splitter.next(), again == message, splitter.pendingByteCount == 0 else {
        fatalError("a \(message.kind) frame does not survive encode and decode")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))

    // Direct decode, skipping the length prefix so seed frames reach every decoder.
    if bytes.count >= 5, let message = try? Message.decode(type: bytes[4], payload: Array(bytes[5...])) {
        checkRoundTrip(message, type: bytes[4], payload: bytes[5...])
    }

    let whole = split(bytes, cuts: [])
    var offset = 0
    for message in whole.messages {
        // The splitter accepted this frame, so its length prefix is in bounds.
        let length = try! FrameSplitter.frameLength(bytes[offset..<offset + 4])
        checkRoundTrip(message, type: bytes[offset + 4], payload: bytes[(offset + 5)..<(offset + 4 + length)])
        offset += 4 + length
    }

    // Cuts drawn from the input itself keep runs reproducible.
    var state = UInt64(truncatingIfNeeded: size) &* 0x9E37_79B9_7F4A_7C15 | 1
    var cuts: [Int] = []
    var position = 0
    while position < bytes.count {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        position += 1 + Int(state % 97)
        cuts.append(min(position, bytes.count))
    }
    guard split(bytes, cuts: cuts) == whole else { fatalError("pieces and whole stream disagree") }
    if bytes.count <= 4096 {
        guard split(bytes, cuts: Array(0..<bytes.count)) == whole else { fatalError("byte-by-byte stream disagrees") }
    }
    return 0
}
