import Repository

/// A directory's entries, sorted by name bytes. Encoded deterministically, so
/// an unchanged directory gives the same tree id in every snapshot (Merkle).
///
///     tree  = version u8 (1) | count u32 | entry*
///     entry = name | kind u8 | flags u8 | mode u32 | uid u32 | gid u32
///           | mtime_ns i64 | ctime_ns i64 | inode u64 | size u64 | link_group u64 | device u64
///           | symlink_target | xattr_count u32 (name value)* | chunk_count u32 (id[32] length u32)*
///           | subtree id[32]          (directories only)
///     name, symlink_target, xattr name/value = length u32 | bytes
///     flags: bit 0 sparse
public struct Tree: Sendable, Equatable {
    public static let formatVersion: UInt8 = 1

    /// Named limits: a decoder refuses anything larger.
    public enum Limits {
        public static let nameLength = 255
        public static let symlinkTargetLength = 4096
        public static let entries = 1_000_000
        public static let xattrs = 1024
        public static let xattrNameLength = 255
        public static let xattrValueLength = 65536
        /// Files up to this many chunks fit in one tree (64 GiB at the default average).
        public static let chunksPerFile = 1 << 20
    }

    public var entries: [TreeEntry]

    public init(entries: [TreeEntry]) { self.entries = entries }

    public func entry(named name: [UInt8]) -> TreeEntry? {
        var low = 0, high = entries.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let order = ByteOrder.compare(entries[middle].name, name)
            if order == 0 { return entries[middle] }
            if order < 0 { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    /// The smallest entry encodes to this many bytes: a one-byte name (4 + 1), kind and flags
    /// (2), mode, uid, gid (12), six 8-byte fields (48), and the lengths of an empty symlink
    /// target, xattr list and chunk list (12). It was 80 until 2026-12-06, which refused trees
    /// whose entries are all that small (a directory holding only an empty file "x", seen in
    /// Go's sources): their snapshots were stored whole but could not be read back.
    static let minimumEntrySize = 79

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 64 + entries.count * 128)
        writer.u8(Self.formatVersion)
        writer.u32(UInt32(entries.count))
        // Through the buffer: the elements are borrowed, not copied (no retains).
        entries.withUnsafeBufferPointer { buffer in
            for index in buffer.indices { Self.encode(buffer[index], into: &writer) }
        }
        return writer.bytes
    }

    static func encode(_ entry: TreeEntry, into writer: inout BinaryWriter) {
        writer.data(entry.name)
        writer.u8(entry.kind.rawValue)
        writer.u8(entry.sparse ? 1 : 0)
        writer.u32(entry.mode)
        writer.u32(entry.uid)
        writer.u32(entry.gid)
        writer.i64(entry.mtimeNanoseconds)
        writer.i64(entry.ctimeNanoseconds)
        writer.u64(entry.inode)
        writer.u64(entry.size)
        writer.u64(entry.linkGroup)
        writer.u64(entry.device)
        writer.data(entry.symlinkTarget)
        writer.u32(UInt32(entry.xattrs.count))
        for attribute in entry.xattrs { writer.data(attribute.name); writer.data(attribute.value) }
        writer.u32(UInt32(entry.chunks.count))
        for chunk in entry.chunks { writer.id(chunk.id); writer.u32(UInt32(chunk.length)) }
        if entry.kind == .directory, let subtree = entry.subtree { writer.id(subtree) }
    }

    /// Decodes and validates a tree: every name safe to create inside a
    /// directory, names strictly ascending (so no duplicates), lengths bounded,
    /// file sizes equal to the sum of their chunks.
    public static func decode(_ bytes: [UInt8]) throws -> Tree {
        var reader = BinaryReader(bytes, what: "tree")
        let version = try reader.u8()
        guard version == formatVersion else {
            throw RepositoryError(.corrupt, "tree format \(version) is not supported (this barge reads \(formatVersion))")
        }
        let count = try reader.count(limit: Limits.entries, minimumElementSize: minimumEntrySize)
        var entries: [TreeEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let entry = try decodeEntry(&reader)
            if let previous = entries.last, !ByteOrder.precedes(previous.name, entry.name) {
                throw RepositoryError(.corrupt, "tree: entry \"\(entry.displayName)\" is out of order or repeated")
            }
            entries.append(entry)
        }
        try reader.expectEnd()
        return Tree(entries: entries)
    }

    static func decodeEntry(_ reader: inout BinaryReader, isRoot: Bool = false) throws -> TreeEntry {
        let name = try reader.data(limit: Limits.nameLength)
        if !isRoot { try validate(name: name) }
        let kindByte = try reader.u8()
        guard let kind = EntryKind(rawValue: kindByte) else {
            throw RepositoryError(.corrupt, "tree: entry \"\(TreeEntry.display(name))\" has unknown kind \(kindByte)")
        }
        let flags = try reader.u8()
        guard flags & ~1 == 0 else { throw RepositoryError(.corrupt, "tree: unknown flags \(flags)") }
        var entry = TreeEntry(name: name, kind: kind)
        entry.sparse = flags & 1 != 0
        entry.mode = try reader.u32()
        guard entry.mode & ~0o7777 == 0 else { throw RepositoryError(.corrupt, "tree: mode \(entry.mode) has type bits") }
        entry.uid = try reader.u32()
        entry.gid = try reader.u32()
        entry.mtimeNanoseconds = try reader.i64()
        entry.ctimeNanoseconds = try reader.i64()
        entry.inode = try reader.u64()
        entry.size = try reader.u64()
        entry.linkGroup = try reader.u64()
        entry.device = try reader.u64()
        entry.symlinkTarget = try reader.data(limit: Limits.symlinkTargetLength)
        let xattrCount = try reader.count(limit: Limits.xattrs, minimumElementSize: 8)
        for _ in 0..<xattrCount {
            let attributeName = try reader.data(limit: Limits.xattrNameLength)
            guard !attributeName.isEmpty, !attributeName.contains(0) else {
                throw RepositoryError(.corrupt, "tree: entry \"\(TreeEntry.display(name))\" has an invalid xattr name")
            }
            entry.xattrs.append(ExtendedAttribute(name: attributeName, value: try reader.data(limit: Limits.xattrValueLength)))
        }
        let chunkCount = try reader.count(limit: Limits.chunksPerFile, minimumElementSize: 36)
        var total: UInt64 = 0
        entry.chunks.reserveCapacity(chunkCount)
        for _ in 0..<chunkCount {
            let id = try reader.id()
            let length = Int(try reader.u32())
            guard length > 0, length <= PackFormat.maxChunkLength else {
                throw RepositoryError(.corrupt, "tree: entry \"\(TreeEntry.display(name))\" has a chunk of \(length) bytes")
            }
            total += UInt64(length)
            entry.chunks.append(ChunkRef(id: id, length: length))
        }
        if kind == .directory { entry.subtree = try reader.id() }
        guard kind == .file ? total == entry.size : entry.chunks.isEmpty else {
            throw RepositoryError(.corrupt, "tree: entry \"\(TreeEntry.display(name))\" says \(entry.size) bytes, its chunks hold \(total)")
        }
        guard kind == .symlink ? !entry.symlinkTarget.isEmpty && !entry.symlinkTarget.contains(0) : entry.symlinkTarget.isEmpty else {
            throw RepositoryError(.corrupt, "tree: entry \"\(TreeEntry.display(name))\" has an invalid symlink target")
        }
        return entry
    }

    /// A name must stay inside its directory: not empty, not `.` or `..`, no `/` or NUL.
    public static func validate(name: [UInt8]) throws {
        let dot = UInt8(ascii: ".")
        guard !name.isEmpty, name != [dot], name != [dot, dot],
              !name.contains(UInt8(ascii: "/")), !name.contains(0) else {
            throw RepositoryError(.corrupt, "tree: refusing entry name \"\(TreeEntry.display(name))\": it would escape its directory",
                                  hint: "the snapshot is damaged or was crafted; nothing was written for this entry")
        }
    }
}
