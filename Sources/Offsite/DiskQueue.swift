import Dispatch
import Repository

/// A serial queue for an uploader's or importer's local-store work (reads, checks, appends),
/// off Swift's cooperative pool; one at a time, so the store's writer is never shared.
struct DiskQueue: Sendable {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws(OffsiteError) -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { try body() }) }
        }
        switch result {
        case .success(let value): return value
        case .failure(let error as OffsiteError): throw error
        case .failure(let error):
            throw OffsiteError(.local, "the local store failed: \(error)",
                               hint: "run `barge verify --read-data` on this node", underlying: error)
        }
    }
}

extension PackIndex.Entry {
    /// This entry's record in `bytes` (a pack's plaintext from byte `base` on), checked as a
    /// local record is: header against the entry, zstd, SHA-256 of the id. Also the raw bytes.
    func checkedRecord(in bytes: UnsafeRawBufferPointer, base: Int = 0, pack: String,
                       decompressor: Decompressor) throws(OffsiteError) -> (record: UnsafeRawBufferPointer, raw: [UInt8]) {
        let start = offset - base
        let end = start + PackFormat.headerLength + storedLength
        guard start >= 0, end <= bytes.count else {
            throw OffsiteError(.malformed, "\(ObjectName.pack(pack)): \(kind.name) \(id.short) runs past the end")
        }
        let record = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
        do { return (record, try Store.decodeRecord(location, from: record, using: decompressor)) } catch {
            throw OffsiteError(.tampered, "\(ObjectName.pack(pack)): \(kind.name) \(id.short) fails its check (\(error))",
                               hint: "nothing from it was used; run `barge offsite verify NAME --read-data`", underlying: error)
        }
    }

    /// Where the record is, for the local checks (pack 0: not a local pack).
    var location: BlobLocation {
        BlobLocation(id: id, kind: kind, pack: 0, offset: offset, storedLength: storedLength, rawLength: rawLength, compression: compression)
    }
}
