// Request bodies of the v3 JSON gateway (etcdserverpb messages in proto3 JSON).
// Optional fields are nil for "not set", which the encoder leaves out.

struct RangeRequest: Encodable {
    var key: ProtoBytes
    var rangeEnd: ProtoBytes?
    var limit: ProtoInt64?
    var keysOnly: Bool?

    enum CodingKeys: String, CodingKey {
        case key, limit
        case rangeEnd = "range_end", keysOnly = "keys_only"
    }
}

struct PutRequest: Encodable {
    var key: ProtoBytes
    var value: ProtoBytes
    var lease: ProtoInt64?
}

struct DeleteRangeRequest: Encodable {
    var key: ProtoBytes
    var rangeEnd: ProtoBytes?

    enum CodingKeys: String, CodingKey {
        case key
        case rangeEnd = "range_end"
    }
}

struct CompareMessage: Encodable {
    var target: String
    var key: ProtoBytes
    var result: String
    var createRevision: ProtoInt64?
    var modRevision: ProtoInt64?
    var version: ProtoInt64?
    var value: ProtoBytes?
    var lease: ProtoInt64?

    enum CodingKeys: String, CodingKey {
        case target, key, result, version, value, lease
        case createRevision = "create_revision", modRevision = "mod_revision"
    }

    init(_ compare: EtcdCompare) {
        // The compared field is always written, zero included: "create_revision
        // EQUAL 0" (the key does not exist) is the most common guard.
        switch compare {
        case let .createRevision(key, result, revision):
            self.init(target: "CREATE", key: ProtoBytes(key), result: result.rawValue, createRevision: ProtoInt64(revision))
        case let .modRevision(key, result, revision):
            self.init(target: "MOD", key: ProtoBytes(key), result: result.rawValue, modRevision: ProtoInt64(revision))
        case let .version(key, result, version):
            self.init(target: "VERSION", key: ProtoBytes(key), result: result.rawValue, version: ProtoInt64(version))
        case let .value(key, result, value):
            self.init(target: "VALUE", key: ProtoBytes(key), result: result.rawValue, value: ProtoBytes(value))
        case let .lease(key, result, lease):
            self.init(target: "LEASE", key: ProtoBytes(key), result: result.rawValue, lease: ProtoInt64(lease))
        }
    }

    private init(target: String, key: ProtoBytes, result: String, createRevision: ProtoInt64? = nil, modRevision: ProtoInt64? = nil,
                 version: ProtoInt64? = nil, value: ProtoBytes? = nil, lease: ProtoInt64? = nil) {
        self.target = target
        self.key = key
        self.result = result
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.value = value
        self.lease = lease
    }
}

struct RequestOp: Encodable {
    var requestRange: RangeRequest?
    var requestPut: PutRequest?
    var requestDeleteRange: DeleteRangeRequest?

    enum CodingKeys: String, CodingKey {
        case requestRange = "request_range", requestPut = "request_put", requestDeleteRange = "request_delete_range"
    }

    init(_ operation: EtcdOperation) {
        switch operation {
        case let .put(key, value, lease):
            requestPut = PutRequest(key: ProtoBytes(key), value: ProtoBytes(value), lease: lease == 0 ? nil : ProtoInt64(lease))
        case let .delete(key, rangeEnd):
            requestDeleteRange = DeleteRangeRequest(key: ProtoBytes(key), rangeEnd: rangeEnd.map(ProtoBytes.init))
        case let .range(key, rangeEnd):
            requestRange = RangeRequest(key: ProtoBytes(key), rangeEnd: rangeEnd.map(ProtoBytes.init))
        }
    }
}

struct TxnRequest: Encodable {
    var compare: [CompareMessage]
    var success: [RequestOp]
    var failure: [RequestOp]
}

struct LeaseGrantRequest: Encodable {
    var ttl: ProtoInt64

    enum CodingKeys: String, CodingKey { case ttl = "TTL" }
}

/// The body of keepalive and revoke: just the lease id.
struct LeaseRequest: Encodable {
    var id: ProtoInt64

    enum CodingKeys: String, CodingKey { case id = "ID" }
}

struct WatchCreateRequest: Encodable {
    var key: ProtoBytes
    var rangeEnd: ProtoBytes?
    var startRevision: ProtoInt64?

    enum CodingKeys: String, CodingKey {
        case key
        case rangeEnd = "range_end", startRevision = "start_revision"
    }
}

struct WatchRequest: Encodable {
    var createRequest: WatchCreateRequest

    enum CodingKeys: String, CodingKey { case createRequest = "create_request" }
}

struct AuthenticateRequest: Encodable {
    var name: String
    var password: String
}

struct EmptyRequest: Encodable {}

struct CompactionRequest: Encodable {
    var revision: ProtoInt64
    /// Wait until the compaction is applied to the backend, so a following watch sees it.
    var physical: Bool
}
