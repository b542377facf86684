/// Named limits of protocol version 1. A decoder refuses anything beyond them
/// before allocating for it.
public enum WireLimits {
    public static let protocolVersion: UInt16 = 1
    /// Largest frame after the 4-byte length: type byte and payload.
    public static let maxFrameLength = 32 << 20
    public static let maxNodeNameLength = 63
    public static let maxVolumeNameLength = 255
    public static let maxErrorMessageLength = 4096
    public static let maxSnapshotRecordLength = 512 << 10
    /// A blob's payload as sent (compressed, raw or a delta).
    public static let maxBlobPayload = maxFrameLength - 1024
    /// A raw chunk; trees may be larger (their stored form must fit a frame).
    public static let maxRawChunkLength = 4 << 20
    public static let maxRawTreeLength = 64 << 20
    public static let maxSignatureLength = 4 << 20
    public static let maxTreesPerRequest = 1024
    public static let maxChunksPerRequest = 256
    public static let maxBasisChunks = 4
    /// Snapshot records in one `snapshotList` page, and in a whole listing.
    public static let maxSnapshotsPerPage = 4096
    public static let maxListedSnapshots = 1_000_000
    /// A receiver keeps at most this many blobs requested and not yet received.
    public static let maxOutstandingBlobs = 1024
}
