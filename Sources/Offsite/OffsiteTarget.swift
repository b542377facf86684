import Foundation
import S3

/// One `[[offsite]]` table, resolved: where the copy lives, how to reach it, how to upload.
public struct OffsiteTarget: Sendable {
    public var name: String
    public var endpoint: String
    public var region: String
    public var bucket: String
    /// Put before every object name as given ("cluster-a/" or "cluster-a.").
    public var prefix: String
    public var credentials: S3Credentials
    public var keyFile: String
    /// Plaintext size at which a pack is closed and uploaded.
    public var packSize: Int
    /// Objects above this go up in parts of this size.
    public var partSize: Int
    /// Packs uploaded or fetched at once.
    public var concurrency: Int
    /// Bytes per second over all transfers of this process; nil for no limit.
    public var bandwidthLimit: Int?
    /// How long a connection to the bucket may stay silent before the request is retried.
    public var idleTimeout: Duration
    /// Told of each request that failed and will be tried again (a warning, a log line).
    public var onRetry: (@Sendable (_ what: String) -> Void)?

    public init(name: String, endpoint: String, region: String, bucket: String, prefix: String,
                credentials: S3Credentials, keyFile: String, packSize: Int = 8 << 20, partSize: Int = 8 << 20,
                concurrency: Int = 4, bandwidthLimit: Int? = nil, idleTimeout: Duration = .seconds(30)) {
        self.name = name
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.prefix = prefix
        self.credentials = credentials
        self.keyFile = keyFile
        self.packSize = packSize
        self.partSize = max(partSize, S3Client.minimumPartSize)
        self.concurrency = max(1, concurrency)
        self.bandwidthLimit = bandwidthLimit
        self.idleTimeout = idleTimeout
    }

    public var describe: String { "offsite \(name) (\(endpoint)/\(bucket)/\(prefix)*)" }
}

enum Clock {
    static func wallNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
