/// The durable description of one snapshot. Encoded into a `snapshot` blob in a
/// pack (so `repair-index` can find it) and mirrored in the index's `snapshot` table.
public struct SnapshotRecord: Sendable, Equatable {
    public static let formatVersion: UInt8 = 1
    public static let maxVolumeNameLength = 255
    public static let maxRootMetadataLength = 256 * 1024

    public var volume: String
    public var volumePath: String
    public var chunkAverage: Int
    public var crossMounts: Bool
    public var parent: BlobID?
    public var root: BlobID
    /// The volume root directory's own metadata, encoded by the Snapshots module.
    public var rootMetadata: [UInt8]
    public var timeNanoseconds: Int64
    public var epoch: UInt64
    public var origin: String
    /// "complete", or a marker such as "pre-restore" or "diverged".
    public var state: String
    public var files: UInt64
    public var directories: UInt64
    public var bytesTotal: UInt64
    public var bytesAdded: UInt64
    public var skipped: UInt64

    public init(volume: String, volumePath: String, chunkAverage: Int, crossMounts: Bool = false, parent: BlobID?, root: BlobID, rootMetadata: [UInt8],
                timeNanoseconds: Int64, epoch: UInt64, origin: String, state: String,
                files: UInt64, directories: UInt64, bytesTotal: UInt64, bytesAdded: UInt64, skipped: UInt64) {
        self.volume = volume
        self.volumePath = volumePath
        self.chunkAverage = chunkAverage
        self.crossMounts = crossMounts
        self.parent = parent
        self.root = root
        self.rootMetadata = rootMetadata
        self.timeNanoseconds = timeNanoseconds
        self.epoch = epoch
        self.origin = origin
        self.state = state
        self.files = files
        self.directories = directories
        self.bytesTotal = bytesTotal
        self.bytesAdded = bytesAdded
        self.skipped = skipped
    }

    /// Refuses a record no reader would accept: the limits hold on both sides.
    public func validate() throws {
        guard rootMetadata.count <= Self.maxRootMetadataLength, volume.utf8.count <= Self.maxVolumeNameLength,
              volumePath.utf8.count <= 65536, origin.utf8.count <= 4096, state.utf8.count <= 256 else {
            throw RepositoryError(.limitExceeded, "snapshot record of \(volume) exceeds a field limit; nothing was committed")
        }
    }

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.u8(Self.formatVersion)
        writer.string(volume)
        writer.string(volumePath)
        writer.u32(UInt32(chunkAverage))
        writer.u8(crossMounts ? 1 : 0)
        if let parent { writer.u8(1); writer.id(parent) } else { writer.u8(0) }
        writer.id(root)
        writer.data(rootMetadata)
        writer.i64(timeNanoseconds)
        writer.u64(epoch)
        writer.string(origin)
        writer.string(state)
        for counter in [files, directories, bytesTotal, bytesAdded, skipped] { writer.u64(counter) }
        return writer.bytes
    }

    /// The snapshot's id: the hash of its encoding.
    public var id: BlobID { BlobID.of(.snapshot, encoded()) }

    public static func decode(_ bytes: [UInt8]) throws -> SnapshotRecord {
        var reader = BinaryReader(bytes, what: "snapshot record")
        let version = try reader.u8()
        guard version == formatVersion else {
            throw RepositoryError(.corrupt, "snapshot record format \(version) is not supported (this barge reads \(formatVersion))",
                                  hint: "upgrade barge")
        }
        let volume = try reader.string(limit: maxVolumeNameLength)
        let path = try reader.string(limit: 65536)
        let average = Int(try reader.u32())
        let crossMountsFlag = try reader.u8()
        guard crossMountsFlag <= 1 else { throw RepositoryError(.corrupt, "snapshot record: cross-mounts flag \(crossMountsFlag)") }
        let hasParent = try reader.u8()
        guard hasParent <= 1 else { throw RepositoryError(.corrupt, "snapshot record: parent flag \(hasParent)") }
        let parent: BlobID? = hasParent == 1 ? try reader.id() : nil
        let root = try reader.id()
        let rootMetadata = try reader.data(limit: maxRootMetadataLength)
        let time = try reader.i64()
        let epoch = try reader.u64()
        let origin = try reader.string(limit: 4096)
        let state = try reader.string(limit: 256)
        var counters: [UInt64] = []
        for _ in 0..<5 { counters.append(try reader.u64()) }
        try reader.expectEnd()
        return SnapshotRecord(volume: volume, volumePath: path, chunkAverage: average, crossMounts: crossMountsFlag == 1, parent: parent, root: root,
                              rootMetadata: rootMetadata, timeNanoseconds: time, epoch: epoch, origin: origin, state: state,
                              files: counters[0], directories: counters[1], bytesTotal: counters[2],
                              bytesAdded: counters[3], skipped: counters[4])
    }
}

/// A committed snapshot as the index lists it.
public struct StoredSnapshot: Sendable, Equatable {
    public let id: BlobID
    public let record: SnapshotRecord

    public init(id: BlobID, record: SnapshotRecord) {
        self.id = id
        self.record = record
    }
}
