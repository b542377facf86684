import Chunking
import Repository

public struct ScanOptions: Sendable {
    public var chunker: ChunkerParameters
    /// Descend into file systems mounted below the volume root.
    public var crossMounts: Bool
    public var workers: Int
    public var compressionLevel: Int32
    /// How often a file that changes while it is read is read again.
    public var readAttempts: Int
    /// Set when barge itself wrote the volume's files from the parent snapshot (a promoted
    /// standby copy) before this time: their inodes and ctimes are new, so a file with the
    /// parent's size and mtime whose ctime is older than this is unchanged.
    public var materializedBeforeNanoseconds: Int64?
    /// The agent's memory of large files' chunks, and the volume's name in it (see ChunkFingerprints).
    public var fingerprints: (cache: ChunkFingerprints, volume: String)?

    public init(chunker: ChunkerParameters = .default, crossMounts: Bool = false, workers: Int = Parallel.defaultWorkers,
                compressionLevel: Int32 = 1, readAttempts: Int = 3) {
        self.chunker = chunker
        self.crossMounts = crossMounts
        self.workers = workers
        self.compressionLevel = compressionLevel
        self.readAttempts = readAttempts
    }
}

/// Something the scan could not take as it was; the snapshot completes without it.
public struct ScanProblem: Sendable, Equatable {
    public let path: String
    public let message: String
}

public struct ScanStatistics: Sendable, Equatable {
    public var files = 0
    public var directories = 0
    public var otherEntries = 0
    public var bytesTotal: UInt64 = 0
    public var bytesRead: UInt64 = 0
    public var filesRead = 0
    public var chunksAdded = 0
    /// Chunks of large files found again by their fingerprints (ChunkFingerprints), not cut or hashed.
    public var chunksFoundAgain = 0
    /// Uncompressed size of the chunks this snapshot added to the store.
    public var chunkBytesNew: UInt64 = 0
    public var treesAdded = 0
    public init() {}
}

public struct ScanResult: Sendable {
    public let root: BlobID
    public let rootMetadata: [UInt8]
    public let statistics: ScanStatistics
    public let problems: [ScanProblem]
    public let notes: [String]
}
