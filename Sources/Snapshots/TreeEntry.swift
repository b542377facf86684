import Repository

/// What a tree entry is. Values are part of the tree format.
public enum EntryKind: UInt8, Sendable, CaseIterable {
    case file = 1, directory = 2, symlink = 3, fifo = 4, characterDevice = 5, blockDevice = 6, socket = 7
}

/// One piece of a file's content, in order.
public struct ChunkRef: Sendable, Hashable {
    public let id: BlobID
    public let length: Int
    public init(id: BlobID, length: Int) { self.id = id; self.length = length }
}

public struct ExtendedAttribute: Sendable, Hashable {
    public let name: [UInt8]
    public let value: [UInt8]
    public init(name: [UInt8], value: [UInt8]) { self.name = name; self.value = value }
}

/// One name in a directory, with everything needed to recreate it.
///
/// File names are byte strings: Linux allows any byte but `/` and NUL, and
/// names that are not UTF-8 must round-trip exactly.
public struct TreeEntry: Sendable, Equatable {
    public var name: [UInt8]
    public var kind: EntryKind
    /// Permission bits including setuid, setgid and sticky (mode & 0o7777).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtimeNanoseconds: Int64
    /// ctime and inode only serve change detection; zero for directories so
    /// that an unchanged directory always encodes the same way.
    public var ctimeNanoseconds: Int64
    public var inode: UInt64
    public var size: UInt64
    /// Non-zero for files with more than one link: entries with the same group
    /// in one snapshot are restored as hard links of each other.
    public var linkGroup: UInt64
    /// The file had holes; restore leaves zero chunks as holes.
    public var sparse: Bool
    /// rdev of device nodes.
    public var device: UInt64
    public var symlinkTarget: [UInt8]
    public var xattrs: [ExtendedAttribute]
    public var chunks: [ChunkRef]
    public var subtree: BlobID?

    public init(name: [UInt8], kind: EntryKind, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
                mtimeNanoseconds: Int64 = 0, ctimeNanoseconds: Int64 = 0, inode: UInt64 = 0, size: UInt64 = 0,
                linkGroup: UInt64 = 0, sparse: Bool = false, device: UInt64 = 0, symlinkTarget: [UInt8] = [],
                xattrs: [ExtendedAttribute] = [], chunks: [ChunkRef] = [], subtree: BlobID? = nil) {
        self.name = name
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeNanoseconds = ctimeNanoseconds
        self.inode = inode
        self.size = size
        self.linkGroup = linkGroup
        self.sparse = sparse
        self.device = device
        self.symlinkTarget = symlinkTarget
        self.xattrs = xattrs
        self.chunks = chunks
        self.subtree = subtree
    }

    /// The name for messages: UTF-8 where it is, escaped bytes where it is not.
    public var displayName: String { Self.display(name) }

    public static func display(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self), !text.contains(where: { $0.isNewline }) { return text }
        var out = ""
        for byte in bytes {
            if byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "\\x" + String(byte, radix: 16).leftPadded(to: 2)
            }
        }
        return out
    }

    /// Whether content and metadata are the same (ignores ctime and inode,
    /// which change on any restore).
    public func sameContentAndMetadata(as other: TreeEntry) -> Bool {
        kind == other.kind && mode == other.mode && uid == other.uid && gid == other.gid
            && mtimeNanoseconds == other.mtimeNanoseconds && size == other.size && device == other.device
            && symlinkTarget == other.symlinkTarget && xattrs == other.xattrs && chunks == other.chunks
            && subtree == other.subtree
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
