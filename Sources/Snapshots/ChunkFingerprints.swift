import Chunking
import Crypto
import Foundation
import Synchronization

/// What the agent remembers of the large files it read, from one snapshot to
/// the next: each chunk's keyed fingerprint (GMAC under a key made at random
/// when this object is, never stored or shown). A database rewritten in a few
/// pages has a new mtime, so the incremental rule reads it whole; with
/// this, a chunk of the parent's list whose bytes at the same offset have the
/// same fingerprint is that chunk, and only the changed ranges are cut by
/// FastCDC and hashed with SHA-256: one GMAC pass instead of FastCDC plus
/// SHA-256 over the whole file. The chunks found again are still looked up,
/// so one the store lost is stored again, as a whole pass would.
///
/// Why the same bytes: GHASH under a secret key is a universal hash; two
/// different chunks of L 16-byte blocks collide with probability at most
/// L / 2^128 (below 2^-110 for the longest chunk), whatever their contents,
/// since nothing outside this process sees the key or a fingerprint.
/// Why the same chunk: FastCDC's cut after an earlier cut depends only on the
/// bytes in between, except for a file's last chunk, which is reused only
/// when the file still ends where it did.
public final class ChunkFingerprints: Sendable {
    public struct Tag: Hashable, Sendable {
        let low: UInt64, high: UInt64
    }

    /// A file's chunks as one snapshot stored them, with their fingerprints.
    struct Entry: Sendable {
        let parameters: ChunkerParameters
        let chunks: [ChunkRef]
        let tags: [Tag]
    }

    /// Files smaller than this are cut and hashed whole, as before: the saving is for large files.
    public static let minimumFileSize: UInt64 = 8 << 20
    /// At most this many chunks are remembered (about 60 bytes each): 256k chunks of 64 KiB cover 16 GiB.
    let capacity: Int

    private let key = SymmetricKey(size: .bits256)
    private let nonce = try! AES.GCM.Nonce(data: [UInt8](repeating: 0, count: 12))
    private struct FileKey: Hashable {
        let volume: String
        let path: [UInt8]
    }

    private let entries = Mutex<(files: [FileKey: Entry], chunks: Int)>(([:], 0))

    public init(capacity: Int = 256 * 1024) { self.capacity = capacity }

    /// The fingerprint of `bytes`, or nil if the library failed (then the chunk is cut and hashed).
    func tag(_ bytes: UnsafeRawBufferPointer) -> Tag? {
        guard let sealed = try? AES.GCM.seal([UInt8](), using: key, nonce: nonce, authenticating: bytes) else { return nil }
        return sealed.tag.withUnsafeBytes { raw in
            Tag(low: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), high: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        }
    }

    /// What was remembered for `path` of `volume`, if it describes exactly `chunks` cut with `parameters`.
    func entry(volume: String, path: [UInt8], chunks: [ChunkRef], parameters: ChunkerParameters) -> Entry? {
        guard let entry = entries.withLock({ $0.files[FileKey(volume: volume, path: path)] }),
              entry.parameters == parameters, entry.chunks == chunks else { return nil }
        return entry
    }

    /// Remembers a file's chunks; other files are forgotten when there is no room.
    func remember(volume: String, path: [UInt8], _ entry: Entry) {
        guard entry.chunks.count == entry.tags.count, entry.chunks.count <= capacity else { return }
        let name = FileKey(volume: volume, path: path)
        entries.withLock { state in
            if let old = state.files.removeValue(forKey: name) { state.chunks -= old.chunks.count }
            while state.chunks + entry.chunks.count > capacity, let victim = state.files.first {
                state.files.removeValue(forKey: victim.key)
                state.chunks -= victim.value.chunks.count
            }
            state.files[name] = entry
            state.chunks += entry.chunks.count
        }
    }

    /// Chunks remembered, for tests.
    var count: Int { entries.withLock { $0.chunks } }
}

/// A scan's walk along one file's remembered chunks, in file order.
struct KnownChunks {
    private let entry: ChunkFingerprints.Entry
    private var index = 0
    private var offset = 0

    init(_ entry: ChunkFingerprints.Entry) { self.entry = entry }

    /// The remembered chunk that starts at `position` if `window` (the file's
    /// bytes from `position`, all that is read so far) begins with its exact
    /// bytes; `fileEnd` is set once the file's end is in the window.
    mutating func reusable(at position: Int, _ window: UnsafeRawBufferPointer, fileEnd: Int?,
                           using fingerprints: ChunkFingerprints) -> (ChunkRef, ChunkFingerprints.Tag)? {
        while index < entry.chunks.count && offset < position {
            offset += entry.chunks[index].length
            index += 1
        }
        guard index < entry.chunks.count, offset == position else { return nil }
        let chunk = entry.chunks[index]
        guard chunk.length <= window.count else { return nil }
        // The last chunk ended at the file's end: it is the same cut only if the file still ends there.
        if index == entry.chunks.count - 1 && fileEnd != position + chunk.length { return nil }
        guard let tag = fingerprints.tag(UnsafeRawBufferPointer(rebasing: window[0..<chunk.length])),
              tag == entry.tags[index] else { return nil }
        return (chunk, tag)
    }
}
