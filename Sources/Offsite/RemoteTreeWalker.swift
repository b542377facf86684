import Repository
import Snapshots

/// Walks the trees of snapshots in the bucket itself (gc's mark, verify, import): each tree
/// pack is fetched once and kept in memory while the walk runs, every tree checked against its id.
struct RemoteTreeWalker {
    let repository: OffsiteRepository
    let remote: RemoteBlobs
    private var packs: [String: [UInt8]] = [:]
    private(set) var bytesFetched = 0
    private(set) var packsFetched = 0

    init(repository: OffsiteRepository, remote: RemoteBlobs) {
        self.repository = repository
        self.remote = remote
    }

    /// Subtrees of each tree walked, in entry order (for a post-order pass afterwards).
    private(set) var subtrees: [BlobID: [BlobID]] = [:]

    /// A walked tree's record as stored (header and payload), from the cached pack.
    func record(of id: BlobID) -> (entry: PackIndex.Entry, bytes: ArraySlice<UInt8>)? {
        guard let place = remote.place(of: id), let plain = packs[place.pack] else { return nil }
        let entry = remote.entry(place)
        return (entry, plain[entry.offset..<(entry.offset + PackFormat.headerLength + entry.storedLength)])
    }

    /// Every tree and chunk the roots reach, each once.
    mutating func reachable(from roots: [BlobID]) async throws(OffsiteError) -> Set<BlobID> {
        var live: Set<BlobID> = []
        var pending = roots.filter { live.insert($0).inserted }
        let decompressor = Decompressor()
        while let id = pending.popLast() {
            guard let place = remote.place(of: id) else {
                throw OffsiteError(.missing, "tree \(id.short) is in no pack index",
                                   hint: "the copy is damaged: forget the snapshots that need it, or push them again from a node that has them")
            }
            let entry = remote.entry(place)
            let plain = try await pack(place.pack)
            guard entry.kind == .tree else { throw OffsiteError(.malformed, "\(id.short) is indexed as a chunk but used as a tree") }
            let tree: Tree
            do {
                let raw = try plain.withUnsafeBytes { bytes in
                    try entry.checkedRecord(in: bytes, pack: place.pack, decompressor: decompressor).raw
                }
                tree = try Tree.decode(raw)
            } catch let error as OffsiteError {
                throw error
            } catch {
                throw OffsiteError(.tampered, "tree \(id.short) in \(ObjectName.pack(place.pack)) does not decode: \(error)", underlying: error)
            }
            var children: [BlobID] = []
            for item in tree.entries {
                for chunk in item.chunks { live.insert(chunk.id) }
                if let subtree = item.subtree {
                    children.append(subtree)
                    if live.insert(subtree).inserted { pending.append(subtree) }
                }
            }
            subtrees[id] = children
        }
        return live
    }

    private mutating func pack(_ id: String) async throws(OffsiteError) -> [UInt8] {
        if let cached = packs[id] { return cached }
        let index = remote.packs[id]!
        let plain = try await repository.fetchPack(id, index)
        bytesFetched += index.sealedLength
        packsFetched += 1
        packs[id] = plain
        return plain
    }
}
