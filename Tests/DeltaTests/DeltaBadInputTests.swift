import Testing
import TestSupport

import Delta

// MARK: - Bad input

/// Ways to break a signature header (magic, block length, strong length).
enum HeaderFault: String, CaseIterable, Sendable {
    case badMagic, md4Magic, deltaMagic, zeroBlockLength, hugeBlockLength
    case zeroStrongLength, strongLengthTooLong, partialHeader

    func apply(to signature: [UInt8]) -> [UInt8] {
        var s = signature
        func put(_ value: UInt32, at offset: Int) {
            for i in 0..<4 { s[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(i))) }
        }
        switch self {
        case .badMagic: put(0xDEAD_BEEF, at: 0)
        case .md4Magic: put(0x7273_0146, at: 0)
        case .deltaMagic: put(0x7273_0236, at: 0)
        case .zeroBlockLength: put(0, at: 4)
        case .hugeBlockLength: put(0x8000_0000, at: 4)
        case .zeroStrongLength: put(0, at: 8)
        case .strongLengthTooLong: put(33, at: 8)
        case .partialHeader: s = Array(s.prefix(11))
        }
        return s
    }
}

@Suite struct BadInputTests {
    /// 10000 bytes, block 256 / strong 32: 40 entries of 36 bytes after the 12-byte header.
    static let basis = SplitMix64(seed: 7).bytesCopy(10000)
    static let parameters = SignatureParameters(blockLength: 256, strongLength: 32)

    @Test(arguments: HeaderFault.allCases)
    func brokenSignatureHeaderIsBadSignature(_ fault: HeaderFault) throws {
        let signature = try Rsync.signature(of: Self.basis, parameters: Self.parameters)
        let broken = fault.apply(to: signature)
        #expect(errorCode { () throws(DeltaError) in try LoadedSignature(broken) } == .badSignature)
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.delta(signature: broken, newData: Self.basis, maxOutput: 1 << 20)
        } == .badSignature)
    }

    /// A cut at an entry boundary is a valid, shorter signature (later blocks go as
    /// literals); any other cut is malformed.
    @Test func truncatedSignature() throws {
        let signature = try Rsync.signature(of: Self.basis, parameters: Self.parameters)
        #expect(signature.count == 12 + 40 * 36)
        for length in 0..<signature.count {
            let cut = Array(signature.prefix(length))
            if length >= 12 && (length - 12) % 36 == 0 {
                let delta = try Rsync.delta(signature: cut, newData: Self.basis, maxOutput: 1 << 20)
                #expect(try Rsync.patch(basis: Self.basis, delta: delta, maxOutput: 10000) == Self.basis)
            } else {
                #expect(errorCode { () throws(DeltaError) in try LoadedSignature(cut) } == .badSignature,
                        "prefix of \(length) bytes")
            }
        }
    }

    /// Random bytes after a valid header are just odd checksums: they must load and give
    /// a correct (if useless) delta.
    @Test func garbledSignatureBodyStillPatchesCorrectly() throws {
        var signature = try Rsync.signature(of: Self.basis, parameters: Self.parameters)
        var rng = SplitMix64(seed: 3)
        signature.replaceSubrange(12..., with: rng.bytes(signature.count - 12))
        let delta = try Rsync.delta(signature: signature, newData: Self.basis, maxOutput: 1 << 20)
        #expect(try Rsync.patch(basis: Self.basis, delta: delta, maxOutput: 10000) == Self.basis)
    }

    @Test func everyTruncatedDeltaIsBadDelta() throws {
        let (basis, new) = try DeltaCase.named("tiny blocks").data()
        let vector = try DeltaCase.named("tiny blocks")
        let delta = try Rsync.delta(signature: Rsync.signature(of: basis, parameters: vector.parameters()),
                                    newData: new, maxOutput: 1 << 20)
        for length in 0..<delta.count {
            let code = errorCode { () throws(DeltaError) in
                try Rsync.patch(basis: basis, delta: Array(delta.prefix(length)), maxOutput: new.count)
            }
            #expect(code == .badDelta, "prefix of \(length) of \(delta.count) bytes")
        }
    }

    @Test func deltaWithBadMagic() throws {
        let code = errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: Self.basis, delta: [0x72, 0x73, 0x01, 0x36, 0], maxOutput: 100)
        }
        #expect(code == .badDelta)
        do {
            _ = try Rsync.patch(basis: Self.basis, delta: [1, 2, 3, 4, 0], maxOutput: 100)
        } catch {
            #expect(error.cause?.name == "RS_BAD_MAGIC")
            #expect(error.description.contains("bad magic"))
        }
    }

    @Test func trailingBytesAfterEndAreBadDelta() throws {
        let delta = try Rsync.delta(signature: Rsync.signature(of: Self.basis), newData: Self.basis,
                                    maxOutput: 1 << 20)
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: Self.basis, delta: delta + [0], maxOutput: 10000)
        } == .badDelta)
    }

    @Test func reservedOpcodeIsBadDelta() {
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: Self.basis, delta: Craft.header + [0x55, 0], maxOutput: 100)
        } == .badDelta)
    }

    @Test func copyPastBasisIsRefused() throws {
        // Starts past the end.
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: Self.basis, delta: Craft.copy(at: 1 << 40, length: 10) + [0],
                            maxOutput: 1 << 20)
        } == .basisTooShort)
        // Starts inside and runs past the end.
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: Self.basis, delta: Craft.copy(at: 9990, length: 11) + [0],
                            maxOutput: 1 << 20)
        } == .basisTooShort)
        // A delta made for a longer basis, applied to a prefix of it.
        let delta = try Rsync.delta(signature: Rsync.signature(of: Self.basis), newData: Self.basis,
                                    maxOutput: 1 << 20)
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: Array(Self.basis.prefix(5000)), delta: delta, maxOutput: 1 << 20)
        } == .basisTooShort)
        // Against an empty basis.
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: [], delta: delta, maxOutput: 1 << 20)
        } == .basisTooShort)
        // The last byte exactly is fine.
        #expect(try Rsync.patch(basis: Self.basis, delta: Craft.copy(at: 9999, length: 1) + [0],
                                maxOutput: 1) == [Self.basis[9999]])
    }

    @Test func negativeCopyPositionIsBadDelta() {
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: Self.basis, delta: Craft.copy(at: -1, length: 10) + [0], maxOutput: 100)
        } == .badDelta)
    }
}

// MARK: - Fuzz

@Suite struct FuzzTests {
    enum Mutation: CaseIterable { case flip, setByte, truncate, insert, delete, duplicate }

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var d = input
        let count = Int(rng.next() % 3) + 1
        for _ in 0..<count {
            let at = d.isEmpty ? 0 : Int(rng.next() % UInt64(d.count))
            switch Mutation.allCases[Int(rng.next() % UInt64(Mutation.allCases.count))] {
            case .flip where !d.isEmpty: d[at] ^= UInt8(1 << (rng.next() % 8))
            case .setByte where !d.isEmpty: d[at] = [0x00, 0x41, 0x44, 0x45, 0x54, 0xFF][Int(rng.next() % 6)]
            case .truncate: d.removeSubrange(at...)
            case .insert: d.insert(contentsOf: rng.bytes(Int(rng.next() % 16) + 1), at: at)
            case .delete where !d.isEmpty: d.removeSubrange(at..<min(d.count, at + Int(rng.next() % 16) + 1))
            case .duplicate where !d.isEmpty:
                let end = min(d.count, at + Int(rng.next() % 64) + 1)
                d.insert(contentsOf: d[at..<end], at: at)
            default: break
            }
        }
        return d
    }

    /// Mutated deltas must either throw a DeltaError or give output within the bound.
    @Test(arguments: ["tiny blocks", "truncate tail", "prepend"])
    func mutatedDeltasNeverCrashOrOverrun(_ name: String) throws {
        let vector = try DeltaCase.named(name)
        let (basis, new) = try vector.data()
        let delta = try Rsync.delta(signature: Rsync.signature(of: basis, parameters: vector.parameters()),
                                    newData: new, maxOutput: 1 << 20)
        let limit = 2 * new.count
        var rng = SplitMix64(seed: 0xF022)
        var outcomes: [String: Int] = [:]
        for _ in 0..<500 {
            let mutated = Self.mutate(delta, &rng)
            do {
                let out = try Rsync.patch(basis: basis, delta: mutated, maxOutput: limit)
                #expect(out.count <= limit)
                outcomes["ok", default: 0] += 1
            } catch {
                outcomes[error.code.rawValue, default: 0] += 1
            }
        }
        // The mutations must reach the interesting paths, not only one kind of failure.
        #expect(outcomes["badDelta", default: 0] > 0)
        #expect(outcomes.count >= 3, "outcomes: \(outcomes)")
    }

    /// Mutated signatures either fail to load or give a delta. That delta need not rebuild
    /// the basis (a shifted entry describes the wrong block), but patching it stays bounded.
    @Test func mutatedSignaturesNeverCrash() throws {
        let basis = SplitMix64(seed: 8).bytesCopy(20000)
        let signature = try Rsync.signature(of: basis, parameters: .init(blockLength: 512, strongLength: 16))
        var rng = SplitMix64(seed: 0x516)
        var loadedCount = 0, rejectedCount = 0
        for _ in 0..<300 {
            let mutated = Self.mutate(signature, &rng)
            guard let loaded = try? LoadedSignature(mutated) else {
                rejectedCount += 1
                continue
            }
            loadedCount += 1
            let delta = try loaded.delta(newData: basis, maxOutput: 2 * basis.count + 1024)
            if let out = try? Rsync.patch(basis: basis, delta: delta, maxOutput: basis.count) {
                #expect(out.count <= basis.count)
            }
        }
        #expect(loadedCount > 0 && rejectedCount > 0)
    }
}
