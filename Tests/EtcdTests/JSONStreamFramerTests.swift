import Foundation
@testable import Etcd
import Testing
import TestSupport

@Suite struct JSONStreamFramerTests {
    /// Runs the framer over `chunks` and returns the objects it cut.
    private func frame(_ chunks: [ArraySlice<UInt8>], limit: Int = 1 << 20) throws -> [[UInt8]] {
        var framer = JSONStreamFramer(maxObjectBytes: limit)
        var objects: [[UInt8]] = []
        for chunk in chunks {
            framer.append(chunk)
            while let object = try framer.next() { objects.append(object) }
        }
        try framer.finish()
        return objects
    }

    /// The objects of a newline-delimited file, each line one object.
    private func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        bytes.split(separator: UInt8(ascii: "\n")).map(Array.init)
    }

    @Test(arguments: Vectors.streams)
    func capturedStreamSplitAtEveryOffset(_ name: String) throws {
        let stream = try Vectors.bytes(name)
        let expected = lines(stream)
        #expect(expected.count >= 1)
        for objectBytes in expected { #expect(try JSONSerialization.jsonObject(with: Data(objectBytes)) is [String: Any]) }
        #expect(try frame([stream[...]]) == expected)
        for offset in 0...stream.count {
            #expect(try frame([stream[..<offset], stream[offset...]]) == expected, "split at \(offset)")
        }
    }

    @Test(arguments: Vectors.streams)
    func capturedStreamOneByteAtATimeAndInSeededChunks(_ name: String) throws {
        let stream = try Vectors.bytes(name)
        let expected = lines(stream)
        #expect(try frame(stream.indices.map { stream[$0...$0] }) == expected)
        var random = SplitMix64(seed: 7)
        for _ in 0..<50 {
            var chunks: [ArraySlice<UInt8>] = []
            var start = 0
            while start < stream.count {
                let end = min(stream.count, start + 1 + random.below(97))
                chunks.append(stream[start..<end])
                start = end
            }
            #expect(try frame(chunks) == expected)
        }
    }

    @Test func bracesAndQuotesInsideStringsDoNotEndAnObject() throws {
        let text = #"{"a":"}{\"]\\","b":[{"c":"\\"}]}  {"d":"\u007b"}"# + "\r\n"
        let objects = try frame([Array(text.utf8)[...]])
        #expect(objects.map { String(decoding: $0, as: UTF8.self) } == [#"{"a":"}{\"]\\","b":[{"c":"\\"}]}"#, #"{"d":"\u007b"}"#])
    }

    @Test func objectsWithoutNewlinesBetweenThem() throws {
        #expect(try frame([Array(#"{"a":1}{"b":2}"#.utf8)[...]]).count == 2)
    }

    @Test func anObjectLongerThanTheLimitFailsEvenBeforeItEnds() {
        let long = Array(("{\"k\":\"" + String(repeating: "x", count: 100)).utf8)
        #expect(throws: JSONStreamFramer.Failure.tooLarge(limit: 64)) { try frame([long[...]], limit: 64) }
        // At the limit exactly it passes.
        let exact = Array(("{\"k\":\"" + String(repeating: "x", count: 56) + "\"}").utf8)
        #expect(exact.count == 64)
        #expect(throws: Never.self) { try frame([exact[...]], limit: 64) }
    }

    @Test func somethingOtherThanAnObjectFails() {
        #expect(throws: JSONStreamFramer.Failure.notAnObject(byte: UInt8(ascii: "<"))) {
            try frame([Array("<html>".utf8)[...]])
        }
    }

    @Test func aStreamCutInsideAnObjectIsTruncated() {
        #expect(throws: JSONStreamFramer.Failure.truncated(bytes: 6)) { try frame([Array(#"{"a":1"#.utf8)[...]]) }
    }

    @Test func theBufferHoldsAboutOneObjectHoweverLongTheStream() throws {
        var framer = JSONStreamFramer(maxObjectBytes: 64)
        let object = Array(#"{"revision":"12345"}"#.utf8) + [UInt8(ascii: "\n")]
        for _ in 0..<10_000 {
            framer.append(object)
            #expect(try framer.next() != nil)
        }
    }
}
