import Testing
import TestSupport

import Delta

// MARK: - Round trips

@Suite struct RoundTripTests {
    @Test(arguments: try DeltaCase.all())
    func patchOfDeltaRebuildsNewData(_ vector: DeltaCase) throws {
        let (basis, new) = try vector.data()
        let signature = try Rsync.signature(of: basis, parameters: vector.parameters())
        #expect(signature.count == vector.parameters().signatureSize(forBasisSize: basis.count))

        let delta = try Rsync.delta(signature: signature, newData: new, maxOutput: new.count * 2 + 1024)
        let rebuilt = try Rsync.patch(basis: basis, delta: delta, maxOutput: new.count)
        #expect(rebuilt == new)

        if let fraction = vector.maxDeltaFraction {
            #expect(Double(delta.count) <= fraction * Double(max(new.count, 1)),
                    "delta is \(delta.count) bytes for \(new.count) new bytes")
        }
    }

    @Test func loadedSignatureServesManyDeltas() throws {
        let (basis, _) = try DeltaCase.named("small overwrites 1 MiB").data()
        let signatureBytes = try Rsync.signature(of: basis)
        let loaded = try LoadedSignature(signatureBytes)
        #expect(loaded.parameters == .recommended(forBasisSize: basis.count))
        #expect(loaded.blockCount == (basis.count + 1023) / 1024)

        var rng = SplitMix64(seed: 99)
        for round in 0..<8 {
            var new = basis
            let at = Int(rng.next() % UInt64(basis.count - 64))
            new.replaceSubrange(at..<at + 64, with: rng.bytes(round * 8))
            let delta = try loaded.delta(newData: new, maxOutput: new.count + 1024)
            #expect(delta == (try Rsync.delta(signature: signatureBytes, newData: new,
                                              maxOutput: new.count + 1024)))
            #expect(try Rsync.patch(basis: basis, delta: delta, maxOutput: new.count) == new)
        }
    }

    /// The free functions share no state, so concurrent calls must not interfere.
    @Test func concurrentRoundTrips() async throws {
        let vectors = try DeltaCase.all().filter { $0.size <= 1 << 20 }
        try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for vector in vectors {
                group.addTask {
                    let (basis, new) = try vector.data()
                    let signature = try Rsync.signature(of: basis, parameters: vector.parameters())
                    let delta = try Rsync.delta(signature: signature, newData: new,
                                                maxOutput: 2 * new.count + 1024)
                    return (vector.name, try Rsync.patch(basis: basis, delta: delta, maxOutput: new.count) == new)
                }
            }
            for try await (name, same) in group {
                #expect(same, "\(name)")
            }
        }
    }

    @Test func exactOutputLimitIsAllowed() throws {
        let (basis, new) = try DeltaCase.named("inserts 1 MiB").data()
        let delta = try Rsync.delta(signature: Rsync.signature(of: basis), newData: new,
                                    maxOutput: new.count)
        #expect(try Rsync.patch(basis: basis, delta: delta, maxOutput: new.count) == new)
        let exact = try Rsync.delta(signature: Rsync.signature(of: basis), newData: new,
                                    maxOutput: delta.count)
        #expect(exact == delta)
    }

    @Test func recommendedParametersFollowLibrsync() {
        #expect(SignatureParameters.recommended(forBasisSize: 0)
                == SignatureParameters(blockLength: 256, strongLength: 32))
        #expect(SignatureParameters.recommended(forBasisSize: 100 << 20).blockLength == 10240)
        #expect(SignatureParameters.recommended(forBasisSize: 1 << 50).blockLength
                == SignatureParameters.maxBlockLength)
    }

    @Test func versionIsLibrsync2() {
        #expect(Rsync.librsyncVersion.hasPrefix("2."))
    }
}

// MARK: - Limits

@Suite struct LimitTests {
    @Test func patchOverLimitThrows() throws {
        let (basis, new) = try DeltaCase.named("inserts 1 MiB").data()
        let delta = try Rsync.delta(signature: Rsync.signature(of: basis), newData: new,
                                    maxOutput: new.count)
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: basis, delta: delta, maxOutput: new.count - 1)
        } == .limitExceeded)
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: basis, delta: delta, maxOutput: 0)
        } == .limitExceeded)
    }

    @Test func deltaOverLimitThrows() throws {
        let (basis, new) = try DeltaCase.named("unrelated data").data()
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.delta(signature: Rsync.signature(of: basis), newData: new, maxOutput: 1000)
        } == .limitExceeded)
    }

    /// 100 000 copies of a 64 KiB basis claim 6.5 GB from a 1.7 MB delta; the patch must
    /// stop at the bound instead of producing it.
    @Test func copyBombStopsAtLimit() throws {
        let basis = SplitMix64(seed: 5).bytesCopy(65536)
        var delta = Craft.header
        let one = Craft.copy(at: 0, length: 65536, header: false)
        delta.reserveCapacity(4 + one.count * 100_000 + 1)
        for _ in 0..<100_000 { delta += one }
        delta.append(0)
        #expect(errorCode { () throws(DeltaError) in
            try Rsync.patch(basis: basis, delta: delta, maxOutput: 4 << 20)
        } == .limitExceeded)
    }
}
