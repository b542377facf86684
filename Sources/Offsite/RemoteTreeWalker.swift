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

    /// The packs holding `wanted` chunks, in the order a restore from `root` first needs one of
    /// them (pre-order, entries in order, as `Restorer` writes): fetched in this order, the
    /// restore can go on while the rest is still coming. Only trees walked before are read.
    func packsInRestoreOrder(from root: BlobID, wanted: [String: [Int]]) throws(OffsiteError) -> [String] {
        var order: [String] = []
        var ranked: Set<String> = []
        let decompressor = Decompressor()
        var stack: [(entries: [TreeEntry], next: Int)] = [(try tree(root, decompressor), 0)]
        while !stack.isEmpty {
            let top = stack.count - 1
            guard stack[top].next < stack[top].entries.count else { stack.removeLast(); continue }
            let item = stack[top].entries[stack[top].next]
            stack[top].next += 1
            for chunk in item.chunks {
                if let place = remote.place(of: chunk.id), wanted[place.pack] != nil, ranked.insert(place.pack).inserted {
                    order.append(place.pack)
                }
            }
            if let subtree = item.subtree { stack.append((try tree(subtree, decompressor), 0)) }
        }
        // Packs no walked tree reaches first (none, unless the walk and the wanted set disagree) still come.
        return order + wanted.keys.filter { !ranked.contains($0) }.sorted()
    }

    /// A walked tree's raw bytes, from its cached pack, checked against its id.
    func rawTree(_ id: BlobID, _ decompressor: Decompressor) throws(OffsiteError) -> [UInt8] {
        guard let (entry, bytes) = record(of: id) else {
            throw OffsiteError(.missing, "tree \(id.short) was walked but its record is gone")
        }
        do {
            return try Array(bytes).withUnsafeBytes { all in
                try entry.checkedRecord(in: all, base: bytes.startIndex, pack: "trees", decompressor: decompressor).raw
            }
        } catch let error as OffsiteError {
            throw error
        } catch {
            throw OffsiteError(.tampered, "tree \(id.short) does not decode: \(error)", underlying: error)
        }
    }

    private func tree(_ id: BlobID, _ decompressor: Decompressor) throws(OffsiteError) -> [TreeEntry] {
        let raw = try rawTree(id, decompressor)
        do { return try Tree.decode(raw).entries } catch {
            throw OffsiteError(.tampered, "tree \(id.short) does not decode: \(error)", underlying: error)
        }
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
