import Foundation
import Repository

/// Packs to and from the bucket: compressed whole, sealed, stored with their index; fetched,
/// opened, decompressed and checked against their index.
extension OffsiteRepository {
    /// zstd level for whole packs: level 3 over a 16 MiB pack finds what repeats across records.
    static let packCompressionLevel: Int32 = 3

    /// Compresses and seals a pack (on the sealing queue; its plaintext is released right
    /// after), stores it, then its index. Returns the sealed bytes sent.
    func store(_ box: PackBox) async throws(OffsiteError) -> Int {
        let id = ObjectName.newPackID()
        let name = ObjectName.pack(id)
        let (sealed, plainLength, entries) = try await CPUWork.run { [self] () throws(OffsiteError) in
            let pack = box.take()
            var body: [UInt8] = [1]
            let compressed = pack.bytes.withUnsafeBytes { Compressor(codec: .zstd, level: Self.packCompressionLevel).compress($0) }
            if let compressed { body += compressed } else { body = [0] + pack.bytes }
            return (try SealedObject.seal(body, name: name, repository: repository, key: key), pack.bytes.count, pack.entries)
        }
        guard try await putSealed(name, sealed) else {
            throw OffsiteError(.storage, "\(name) already exists in the bucket: a random name was reused, which should never happen",
                               hint: "check that nothing else writes under the target's prefix")
        }
        let sealedLength = sealed.count
        let index = PackIndex(sealedLength: sealedLength, plainLength: plainLength, entries: entries).encoded()
        guard let indexLength = try await put(ObjectName.index(id), index) else {
            throw OffsiteError(.storage, "\(ObjectName.index(id)) already exists in the bucket", hint: "check that nothing else writes under the target's prefix")
        }
        return sealedLength + indexLength
    }

    /// A pack's plaintext, checked against its index: sealed size, header, length.
    func fetchPack(_ id: String, _ index: PackIndex) async throws(OffsiteError) -> [UInt8] {
        try Self.unpack(try await fetchOpened(id, index), id, index)
    }

    /// A pack as opened (authenticated, still compressed): what transfers hold in flight.
    func fetchOpened(_ id: String, _ index: PackIndex) async throws(OffsiteError) -> Data {
        let name = ObjectName.pack(id)
        guard let opened = try await getData(name, maxLength: index.sealedLength) else {
            throw OffsiteError(.missing, "\(name) is listed by its index but not in the bucket",
                               hint: "run `barge offsite verify \(target.name)`; restore another snapshot")
        }
        guard opened.count + SealedObject.overhead == index.sealedLength, let flag = opened.first, flag <= 1 else {
            throw OffsiteError(.tampered, "\(name) does not have the size its index gives")
        }
        return opened
    }

    /// The plaintext of an opened pack, checked against its index.
    static func unpack(_ opened: Data, _ id: String, _ index: PackIndex) throws(OffsiteError) -> [UInt8] {
        let name = ObjectName.pack(id)
        let plain: [UInt8]
        if opened.first == 1 {
            do {
                plain = try opened.withUnsafeBytes { try Decompressor().decompress(UnsafeRawBufferPointer(rebasing: $0[1...]), compression: .zstd, rawLength: index.plainLength) }
            } catch {
                throw OffsiteError(.malformed, "\(name) does not decompress to the \(index.plainLength) bytes its index gives", underlying: error)
            }
        } else {
            plain = Array(opened.dropFirst())
        }
        guard plain.count == index.plainLength, plain.starts(with: PackFormat.fileMagic) else {
            throw OffsiteError(.tampered, "\(name) does not have the length or header its index gives")
        }
        return plain
    }
}
