import Testing

import Wire

/// The encoder and decoder against the independently built vectors of testdata/wire.
@Suite struct FrameVectorTests {
    @Test func vectorsAreLoaded() {
        #expect(WireVectors.frames.count >= 40, "testdata/wire/frames.json missing or unreadable")
        #expect(WireVectors.invalid.count >= 80, "testdata/wire/invalid.json missing or unreadable")
    }

    /// Every message kind, blob encoding and blob kind, error code, offer decision, hand-over
    /// phase and standby form has a vector.
    @Test func vectorsCoverEveryCase() throws {
        let messages = try WireVectors.decodedFrames().map(\.message)
        #expect(Set(messages.map(\.kind)) == Set(Message.Kind.allCases))
        var encodings = Set<UInt8>(), blobKinds = Set<UInt8>(), decisions = Set<UInt8>(), phases = Set<UInt8>()
        var codes = Set<WireError.Code>(), standbys = Set<Bool>()
        for message in messages {
            switch message {
            case let .blob(blob):
                encodings.insert(blob.encoding.rawValue)
                blobKinds.insert(blob.kind.rawValue)
            case let .error(error): codes.insert(error.code)
            case let .offerReply(_, decision, _): decisions.insert(decision.rawValue)
            case let .ownership(_, _, _, standby): standbys.insert(standby != nil)
            case let .handover(_, _, _, phase), let .handoverDone(_, _, phase): phases.insert(phase.rawValue)
            default: break
            }
        }
        #expect(encodings == [0, 1, 2, 3, 4])
        #expect(blobKinds == [1, 2])
        #expect(decisions == [0, 1])
        #expect(phases == [1, 2, 3])
        #expect(standbys == [false, true])
        #expect(codes == Set(WireError.Code.allCases))
    }

    @Test(arguments: WireVectors.frames)
    func encodesToTheVectorBytes(_ vector: FrameVector) throws {
        let message = try vector.message.message()
        let frame = message.encodedFrame()
        if vector.encodes {
            #expect(hex(frame) == vector.hex)
        } else {
            // Decode-only vectors re-encode to other bytes, which must decode to the same message.
            #expect(hex(frame) != vector.hex)
            #expect(try Message.decode(type: frame[4], payload: Array(frame[5...])) == message)
        }
    }

    @Test(arguments: WireVectors.frames)
    func decodesToTheVectorMessage(_ vector: FrameVector) throws {
        let expected = try vector.message.message()
        let frame = try hexBytes(vector.hex)
        var splitter = FrameSplitter()
        splitter.append(frame)
        #expect(try splitter.next() == expected)
        #expect(splitter.pendingByteCount == 0)
        #expect(try splitter.next() == nil)
        #expect(try Message.decode(type: frame[4], payload: Array(frame[5...])) == expected)
    }

    @Test(arguments: WireVectors.invalid)
    func refusesWithItsCode(_ vector: InvalidVector) throws {
        let expected = try #require(WireError.Code.allCases.first { "\($0)" == vector.code }, "unknown code \(vector.code)")
        let frame = try hexBytes(vector.hex)
        var splitter = FrameSplitter()
        splitter.append(frame)
        #expect(thrownCode { () throws(WireError) in try splitter.next() } == expected)

        // A frame whose length is in bounds and exact fails the same way without the splitter.
        if frame.count >= 5, (try? FrameSplitter.frameLength(frame.prefix(4))) == frame.count - 4 {
            #expect(thrownCode { () throws(WireError) in try Message.decode(type: frame[4], payload: Array(frame[5...])) } == expected)
        }
    }

    /// A frame holding a decoded message re-encodes to the very bytes it came from, so a
    /// receiver and a relay never disagree about what was said.
    @Test func decodingIsCanonical() throws {
        for (vector, (frame, message)) in zip(WireVectors.frames, try WireVectors.decodedFrames()) where vector.encodes {
            #expect(message.encodedFrame() == frame, "\(vector.name)")
        }
    }

    /// Error messages are cut to the decoder's limit before a scalar, so the frame stays valid UTF-8
    /// and decodes; a message the decoder takes whole is never cut.
    @Test(arguments: [
        ("e", 4096, 4096), ("e", 4097, 4096), ("e", 10_000, 4096),
        ("é", 2048, 4096), ("é", 2049, 4096), ("𝄞", 1024, 4096), ("𝄞", 1025, 4096),
        ("€", 1366, 4095), ("€", 1365, 4095),
    ])
    func errorMessageIsCutToTheLimit(scalar: String, repeats: Int, expectedBytes: Int) throws {
        let text = String(repeating: scalar, count: repeats)
        let frame = Message.error(WireError(.storage, text)).encodedFrame()
        var splitter = FrameSplitter()
        splitter.append(frame)
        guard case let .error(decoded) = try splitter.next() else {
            Issue.record("not an error frame")
            return
        }
        #expect(decoded.code == .storage)
        #expect(decoded.message.utf8.count == expectedBytes)
        #expect(text.hasPrefix(decoded.message))
    }

    /// Unknown codes from a newer peer still end the session: they decode as internalError.
    @Test(arguments: [0, WireError.Code.allCases.map(\.rawValue).max()! + 1, 999, 0xFFFF])
    func unknownErrorCodeIsInternalError(raw: UInt16) throws {
        let payload: [UInt8] = [UInt8(raw >> 8), UInt8(raw & 0xFF), 0, 0, 0, 1, UInt8(ascii: "x")]
        #expect(try Message.decode(type: Message.Kind.error.rawValue, payload: payload) == .error(WireError(.internalError, "x")))
    }
}
