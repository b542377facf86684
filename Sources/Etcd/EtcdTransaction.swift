// A transaction: compares that guard it, and the operations run when they all
// hold (success) or when one does not (failure). Fencing decisions are txns.

/// How a compare relates the key's field to the given value.
public enum EtcdCompareResult: String, Sendable {
    case equal = "EQUAL"
    case notEqual = "NOT_EQUAL"
    case greater = "GREATER"
    case less = "LESS"
}

/// One guard of a txn. A key that does not exist has create revision, mod
/// revision, version and lease 0.
public enum EtcdCompare: Sendable {
    case createRevision(key: [UInt8], EtcdCompareResult, Int64)
    case modRevision(key: [UInt8], EtcdCompareResult, Int64)
    case version(key: [UInt8], EtcdCompareResult, Int64)
    case value(key: [UInt8], EtcdCompareResult, [UInt8])
    case lease(key: [UInt8], EtcdCompareResult, Int64)
}

/// One operation of a txn. A nil rangeEnd means the single key.
public enum EtcdOperation: Sendable {
    case put(key: [UInt8], value: [UInt8], lease: Int64 = 0)
    case delete(key: [UInt8], rangeEnd: [UInt8]? = nil)
    case range(key: [UInt8], rangeEnd: [UInt8]? = nil)
}

/// The result of one operation, in the order of the operations that ran.
public enum EtcdOperationResult: Sendable, Equatable {
    case put
    case delete(deleted: Int64)
    case range([EtcdKeyValue])
}

/// Whether the compares held, and the results of the branch that ran.
public struct EtcdTxnResult: Sendable {
    public var succeeded: Bool
    public var header: EtcdHeader
    public var results: [EtcdOperationResult]

    public init(succeeded: Bool, header: EtcdHeader, results: [EtcdOperationResult]) {
        self.succeeded = succeeded
        self.header = header
        self.results = results
    }
}
