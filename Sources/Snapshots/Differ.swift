import Repository

public struct DiffResult: Sendable, Equatable {
    public var added: [String] = []
    public var removed: [String] = []
    public var modified: [String] = []
}

/// Compares two snapshots' trees. Subtrees with the same id are skipped
/// without being read: that is what the Merkle structure is for.
public struct Differ {
    private let store: Store
    private let decompressor = Decompressor()

    public init(store: Store) { self.store = store }

    public func diff(from old: StoredSnapshot, to new: StoredSnapshot) throws -> DiffResult {
        var result = DiffResult()
        try compare(old.record.root, new.record.root, prefix: [], into: &result)
        return result
    }

    private func load(_ id: BlobID?) throws -> [TreeEntry] {
        guard let id else { return [] }
        return try Tree.decode(try store.read(id, kind: .tree, using: decompressor)).entries
    }

    private func compare(_ old: BlobID?, _ new: BlobID?, prefix: [UInt8], into result: inout DiffResult) throws {
        if old == new { return }
        let before = try load(old), after = try load(new)
        var i = 0, j = 0
        while i < before.count || j < after.count {
            let a = i < before.count ? before[i] : nil
            let b = j < after.count ? after[j] : nil
            if let a, b == nil || ByteOrder.precedes(a.name, b!.name) {
                try list(a, prefix: prefix, into: &result.removed)
                i += 1
            } else if let b, a == nil || ByteOrder.precedes(b.name, a!.name) {
                try list(b, prefix: prefix, into: &result.added)
                j += 1
            } else if let a, let b {
                let path = FileSystem.join(prefix, a.name)
                if a.kind != b.kind {
                    try list(a, prefix: prefix, into: &result.removed)
                    try list(b, prefix: prefix, into: &result.added)
                } else if a.kind == .directory {
                    var metaA = a, metaB = b
                    metaA.subtree = nil
                    metaB.subtree = nil
                    if !metaA.sameContentAndMetadata(as: metaB) { result.modified.append(TreeEntry.display(path)) }
                    try compare(a.subtree, b.subtree, prefix: path, into: &result)
                } else if !a.sameContentAndMetadata(as: b) {
                    result.modified.append(TreeEntry.display(path))
                }
                i += 1
                j += 1
            }
        }
    }

    /// An entry and, for directories, everything below it.
    private func list(_ entry: TreeEntry, prefix: [UInt8], into paths: inout [String]) throws {
        let path = FileSystem.join(prefix, entry.name)
        paths.append(TreeEntry.display(path))
        if entry.kind == .directory {
            for child in try load(entry.subtree) { try list(child, prefix: path, into: &paths) }
        }
    }
}
