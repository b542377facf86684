import S3

/// Why an off-site operation failed, with what to do about it.
public struct OffsiteError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The key file is missing, unreadable or not a key.
        public static let badKey = Code("badKey")
        /// An object failed authentication: tampered, truncated, swapped, or sealed with another key.
        public static let tampered = Code("tampered")
        /// An object decrypted but its content breaks the format's rules.
        public static let malformed = Code("malformed")
        /// The bucket holds no barge copy (no config object), or one with another format.
        public static let notInitialized = Code("notInitialized")
        /// An object a listed snapshot needs is not in the bucket.
        public static let missing = Code("missing")
        /// A snapshot was asked for that the target does not list.
        public static let noSuchSnapshot = Code("noSuchSnapshot")
        /// The catalog went back: an older catalog than one this node already saw.
        public static let rolledBack = Code("rolledBack")
        /// Another writer kept changing the catalog; gave up after retries.
        public static let contention = Code("contention")
        /// The S3 server or the network failed.
        public static let storage = Code("storage")
        /// The local store failed.
        public static let local = Code("local")
        /// Stopped on purpose: the restore reading the import failed first.
        public static let cancelled = Code("cancelled")
    }

    public let code: Code
    public let message: String
    public let hint: String?
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, hint: String? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.underlying = underlying
    }

    static func storage(_ error: S3Error, while doing: String) -> OffsiteError {
        var hint = "check the endpoint, the bucket and the network; the operation can be run again"
        if error.serverCode == "SignatureDoesNotMatch" || error.serverCode == "InvalidAccessKeyId" {
            hint = "the bucket refused the credentials: check credentials_file or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
        } else if error.serverCode == "NoSuchBucket" {
            hint = "create the bucket, or run `barge offsite init` which creates it"
        } else if error.code == .transport {
            hint = "the bucket could not be reached: check the endpoint and the network path to it, then run the same command again"
                + " (what already landed is kept; [[offsite]] timeout sets how long a silent connection is waited for)"
        } else if error.serverCode == "AccessDenied" {
            hint = "the credentials lack a permission on the bucket (GetObject, PutObject, DeleteObject, ListBucket)"
        }
        return OffsiteError(.storage, "\(doing): \(error.message)", hint: hint, underlying: error)
    }

    public var description: String {
        var text = message
        if let hint { text += "\n  hint: " + hint }
        return text
    }
}
