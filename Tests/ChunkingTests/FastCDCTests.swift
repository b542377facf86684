@testable import Chunking
import Foundation
import Testing
import TestSupport

struct ChunkVector: Codable, Sendable, CustomTestStringConvertible {
    let kind: String
    let seed: UInt64
    let length: Int
    let average: Int
    let cuts: [Int]
    var testDescription: String { "\(kind) seed \(seed), \(length) B, avg \(average)" }

    /// The same bytes fastcdc_reference.py builds.
    func data() -> [UInt8] {
        switch kind {
        case "zeros":
            return [UInt8](repeating: 0, count: length)
        case "text":
            var generator = SplitMix64(seed: seed)
            let alphabet = Array("abc \n".utf8)
            return (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
        default:
            return randomBytes(length, seed: seed)
        }
    }
}

enum Vectors {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let chunking: [ChunkVector] = {
        struct File: Codable { let vectors: [ChunkVector] }
        let url = root.appendingPathComponent("testdata/chunking/vectors.json")
        return (try? JSONDecoder().decode(File.self, from: Data(contentsOf: url)).vectors) ?? []
    }()
}

@Suite struct FastCDCTests {
    @Test func vectorsAreLoaded() {
        #expect(Vectors.chunking.count >= 10)
    }

    /// Cut points equal those of the independent Python reference.
    @Test(arguments: Vectors.chunking)
    func cutPointsMatchReference(_ vector: ChunkVector) throws {
        let chunker = FastCDC(try ChunkerParameters(average: vector.average))
        #expect(chunker.chunkLengths(of: vector.data()) == vector.cuts)
    }

    /// Every chunk but the last respects min and max; lengths add up.
    @Test(arguments: Vectors.chunking)
    func boundsHold(_ vector: ChunkVector) throws {
        let parameters = try ChunkerParameters(average: vector.average)
        let lengths = FastCDC(parameters).chunkLengths(of: vector.data())
        #expect(lengths.reduce(0, +) == vector.length)
        for length in lengths.dropLast() {
            #expect(length >= parameters.minimum && length <= parameters.maximum)
        }
        if let last = lengths.last { #expect(last > 0 && last <= parameters.maximum) }
    }

    /// Feeding a stream through a window of `maximum` bytes (as the scanner
    /// does) gives the same cuts as seeing the whole buffer.
    @Test(arguments: Vectors.chunking.filter { $0.length > 0 })
    func streamingMatchesWholeBuffer(_ vector: ChunkVector) throws {
        let parameters = try ChunkerParameters(average: vector.average)
        let chunker = FastCDC(parameters)
        let data = vector.data()
        var cuts: [Int] = []
        var start = 0
        data.withUnsafeBytes { raw in
            while start < raw.count {
                let end = min(raw.count, start + parameters.maximum)
                let length = chunker.cutPoint(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                cuts.append(length)
                start += length
            }
        }
        #expect(cuts == vector.cuts)
    }

    /// An insertion only disturbs the chunks around it: content-defined cuts resynchronize.
    @Test func insertionShiftsFewChunks() throws {
        let vector = ChunkVector(kind: "random", seed: 42, length: 4 << 20, average: 65536, cuts: [])
        var data = vector.data()
        let chunker = FastCDC()
        let before = Set(chunks(of: data, chunker))
        data.insert(contentsOf: [1, 2, 3, 4, 5, 6, 7], at: 2 << 20)
        let after = chunks(of: data, chunker)
        let changed = after.filter { !before.contains($0) }.count
        #expect(changed <= 2, "an insert should change at most two chunks, changed \(changed)")
    }

    /// The four-bytes-a-step scan cuts exactly where rolling one byte at a
    /// time does, at every cut position modulo 4, with both masks in play.
    @Test(arguments: [(4096, 1), (4096, 2), (8192, 3), (65536, 4)])
    func unrolledScanEqualsByteAtATime(_ setting: (average: Int, seed: UInt64)) throws {
        let parameters = try ChunkerParameters(average: setting.average)
        let data = ChunkVector(kind: "random", seed: setting.seed, length: 1 << 20, average: setting.average, cuts: []).data()
        let lengths = FastCDC(parameters).chunkLengths(of: data)
        #expect(lengths == Self.referenceLengths(data, parameters))
        #expect(Set(lengths.dropLast().map { $0 % 4 }).count == 4, "cuts at every offset modulo 4")
    }

    private static func referenceLengths(_ data: [UInt8], _ parameters: ChunkerParameters) -> [Int] {
        func mask(_ bits: Int) -> UInt64 { ((1 << UInt64(bits)) - 1) << UInt64(64 - bits) }
        let bits = parameters.average.trailingZeroBitCount
        var lengths: [Int] = [], offset = 0
        while offset < data.count {
            let count = data.count - offset
            var cut = min(count, parameters.maximum)
            if count > parameters.minimum {
                var hash: UInt64 = 0
                for index in parameters.minimum..<cut {
                    hash = (hash &<< 1) &+ Gear.table[Int(data[offset + index])]
                    if hash & mask(index < min(cut, parameters.average) ? bits + 2 : bits - 2) == 0 { cut = index + 1; break }
                }
            }
            lengths.append(cut)
            offset += cut
        }
        return lengths
    }

    private func chunks(of data: [UInt8], _ chunker: FastCDC) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var offset = 0
        for length in chunker.chunkLengths(of: data) {
            out.append(Array(data[offset..<offset + length]))
            offset += length
        }
        return out
    }

    @Test(arguments: [0, 1000, 3 * 4096, 65536 + 1, 2 << 20])
    func invalidAveragesAreRefused(_ average: Int) {
        #expect(throws: ChunkerParametersError.self) { try ChunkerParameters(average: average) }
    }
}
