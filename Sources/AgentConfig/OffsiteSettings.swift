import Retention

/// One `[[offsite]]`: an S3-compatible bucket that keeps an encrypted copy of some volumes'
/// history, outside the cluster. A bare machine restoring from it needs only this table
/// (and the key file and credentials it names).
public struct OffsiteSettings: Sendable, Equatable {
    public var name: String
    /// http(s)://host[:port]; addressing is path-style.
    public var endpoint: String
    public var region: String
    public var bucket: String
    public var prefix: String
    /// A file with `access_key_id = ...` and `secret_access_key = ...` (and optionally
    /// `session_token`); nil: the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables.
    public var credentialsFile: String?
    public var keyFile: String
    /// Volumes the owner uploads.
    public var volumes: [String]
    /// At most one upload per volume per interval; 0 uploads after every snapshot.
    public var intervalSeconds: Double
    public var packSize: Int
    public var partSize: Int
    public var concurrency: Int
    public var bandwidthLimit: Int?
    /// How long a connection to the bucket may stay silent (connect, read, write) before
    /// the request fails and is retried; after the last retry the operation fails.
    public var timeoutSeconds: Double
    /// `[offsite.retention]`; nil keeps every uploaded snapshot.
    public var retention: RetentionPolicy?

    public init(name: String, endpoint: String, region: String = "us-east-1", bucket: String, prefix: String = "",
                credentialsFile: String? = nil, keyFile: String, volumes: [String] = [], intervalSeconds: Double = 3600,
                packSize: Int = 8 << 20, partSize: Int = 8 << 20, concurrency: Int = 4, bandwidthLimit: Int? = nil,
                timeoutSeconds: Double = 30, retention: RetentionPolicy? = nil) {
        self.name = name
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.prefix = prefix
        self.credentialsFile = credentialsFile
        self.keyFile = keyFile
        self.volumes = volumes
        self.intervalSeconds = intervalSeconds
        self.packSize = packSize
        self.partSize = partSize
        self.concurrency = concurrency
        self.bandwidthLimit = bandwidthLimit
        self.timeoutSeconds = timeoutSeconds
        self.retention = retention
    }

    static let keys = ["name", "endpoint", "region", "bucket", "prefix", "credentials_file", "key_file", "volumes",
                       "interval", "pack_size", "part_size", "concurrency", "bandwidth", "timeout", "retention"]

    init(reading table: TableReader) throws(ConfigError) {
        try table.rejectUnknownKeys(allowed: Self.keys)
        let name = try table.name("name", required: "\"offsite\"")
        let endpoint = try table.requiredString("endpoint", example: "\"https://s3.eu-central-1.amazonaws.com\"")
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw table.error("endpoint", "\"\(endpoint)\" is not an http:// or https:// address",
                              hint: "write endpoint = \"https://HOST[:PORT]\" (path-style addressing, no bucket in it)")
        }
        let bucket = try table.requiredString("bucket", example: "\"barge-backups\"")
        let prefix = try table.string("prefix", example: "\"cluster-a/\"") ?? ""
        guard !prefix.hasPrefix("/"), !prefix.contains("//") else {
            throw table.error("prefix", "\"\(prefix)\" starts with / or contains //", hint: "write a relative prefix such as \"cluster-a/\"")
        }
        var retention: RetentionPolicy?
        if let retentionTable = try table.subtable("retention") { retention = try RetentionSettings.read(retentionTable) }
        let concurrency = try table.count("concurrency", maximum: 64)
        self.init(name: name, endpoint: endpoint, region: try table.string("region", example: "\"us-east-1\"") ?? "us-east-1",
                  bucket: bucket, prefix: prefix,
                  credentialsFile: try table.optionalPath("credentials_file", example: "\"/etc/barge/s3.credentials\""),
                  keyFile: try table.path("key_file", example: "\"/etc/barge/offsite.key\""),
                  volumes: try table.stringArray("volumes") ?? [],
                  intervalSeconds: try table.duration("interval", default: 3600, minimum: (0, "0s")),
                  packSize: try table.size("pack_size", default: 8 << 20, minimum: 1 << 20, maximum: 512 << 20),
                  partSize: try table.size("part_size", default: 8 << 20, minimum: 5 << 20, maximum: 512 << 20),
                  concurrency: concurrency == 0 ? 4 : concurrency,
                  bandwidthLimit: try table.bandwidth("bandwidth"),
                  timeoutSeconds: try table.duration("timeout", default: 30, minimum: (1, "1s"), maximum: (3600, "1h")),
                  retention: retention)
    }
}

extension TableReader {
    /// A size such as "16MiB" within bounds.
    func size(_ key: String, default fallback: Int, minimum: Int, maximum: Int) throws(ConfigError) -> Int {
        guard let text = try string(key, example: "\"16MiB\"") else { return fallback }
        guard let bytes = Quantity.bytes(text), bytes >= Double(minimum), bytes <= Double(maximum) else {
            throw error(key, "\"\(text)\" is not a size from \(minimum >> 20)MiB to \(maximum >> 20)MiB",
                        hint: "write a size such as \"16MiB\"")
        }
        return Int(bytes)
    }
}
