import Repository

/// The volume root's own mode, owner, times and xattrs, kept in the snapshot
/// record: the root has no parent tree to hold its entry.
enum RootMetadata {
    static func encode(_ entry: TreeEntry) -> [UInt8] {
        var writer = BinaryWriter()
        writer.u8(Tree.formatVersion)
        Tree.encode(entry, into: &writer)
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> TreeEntry {
        var reader = BinaryReader(bytes, what: "root metadata")
        guard try reader.u8() == Tree.formatVersion else { throw RepositoryError(.corrupt, "root metadata: unknown format") }
        let entry = try Tree.decodeEntry(&reader, isRoot: true)
        try reader.expectEnd()
        guard entry.kind == .directory else { throw RepositoryError(.corrupt, "root metadata: the root is not a directory") }
        return entry
    }
}
