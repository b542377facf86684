// Response bodies of the v3 JSON gateway. proto3 JSON leaves out zero and
// false values, so nearly every field is optional and read with its default.

/// A response that names the cluster and member that answered.
protocol GatewayResponse: Decodable, Sendable {
    var header: ResponseHeader? { get }
    /// An error carried in a 200 answer (a streamed call's `{"error": ...}`).
    var streamError: GatewayErrorBody? { get }
}

extension GatewayResponse {
    var streamError: GatewayErrorBody? { nil }
}

struct ResponseHeader: Decodable, Sendable {
    var clusterID: ProtoUInt64?
    var memberID: ProtoUInt64?
    var revision: ProtoInt64?
    var raftTerm: ProtoUInt64?

    enum CodingKeys: String, CodingKey {
        case revision
        case clusterID = "cluster_id", memberID = "member_id", raftTerm = "raft_term"
    }

    var value: EtcdHeader {
        EtcdHeader(clusterID: clusterID.orZero, memberID: memberID.orZero, revision: revision.orZero, raftTerm: raftTerm.orZero)
    }
}

struct KeyValueMessage: Decodable, Sendable {
    var key: ProtoBytes?
    var value: ProtoBytes?
    var createRevision: ProtoInt64?
    var modRevision: ProtoInt64?
    var version: ProtoInt64?
    var lease: ProtoInt64?

    enum CodingKeys: String, CodingKey {
        case key, value, version, lease
        case createRevision = "create_revision", modRevision = "mod_revision"
    }

    var keyValue: EtcdKeyValue {
        EtcdKeyValue(key: key?.bytes ?? [], value: value?.bytes ?? [], createRevision: createRevision.orZero,
                     modRevision: modRevision.orZero, version: version.orZero, lease: lease.orZero)
    }
}

struct RangeResponse: GatewayResponse {
    var header: ResponseHeader?
    var kvs: [KeyValueMessage]?
}

struct PutResponse: GatewayResponse {
    var header: ResponseHeader?
}

struct DeleteRangeResponse: GatewayResponse {
    var header: ResponseHeader?
    var deleted: ProtoInt64?
}

struct ResponseOp: Decodable, Sendable {
    var responseRange: RangeResponse?
    var responsePut: PutResponse?
    var responseDeleteRange: DeleteRangeResponse?

    enum CodingKeys: String, CodingKey {
        case responseRange = "response_range", responsePut = "response_put", responseDeleteRange = "response_delete_range"
    }

    /// The result, or nil when the op names none of the three kinds.
    var result: EtcdOperationResult? {
        if let responseRange { return .range((responseRange.kvs ?? []).map(\.keyValue)) }
        if let responseDeleteRange { return .delete(deleted: responseDeleteRange.deleted.orZero) }
        if responsePut != nil { return .put }
        return nil
    }
}

struct TxnResponse: GatewayResponse {
    var header: ResponseHeader?
    /// Absent when the compares failed (false is left out).
    var succeeded: Bool?
    var responses: [ResponseOp]?
}

struct LeaseGrantResponse: GatewayResponse {
    var header: ResponseHeader?
    var id: ProtoInt64?
    var ttl: ProtoInt64?
    var error: String?

    enum CodingKeys: String, CodingKey {
        case header, error
        case id = "ID", ttl = "TTL"
    }
}

struct LeaseRevokeResponse: GatewayResponse {
    var header: ResponseHeader?
}

struct LeaseKeepAliveResponse: GatewayResponse {
    var header: ResponseHeader?
    var id: ProtoInt64?
    /// Absent (0) when the lease has expired or was revoked.
    var ttl: ProtoInt64?

    enum CodingKeys: String, CodingKey {
        case header
        case id = "ID", ttl = "TTL"
    }
}

struct LeaseTimeToLiveResponse: GatewayResponse {
    var header: ResponseHeader?
    var id: ProtoInt64?
    /// -1 when the lease is gone.
    var ttl: ProtoInt64?

    enum CodingKeys: String, CodingKey {
        case header
        case id = "ID", ttl = "TTL"
    }
}

struct MemberMessage: Decodable, Sendable {
    var id: ProtoUInt64?
    var name: String?
    var clientURLs: [String]?

    enum CodingKeys: String, CodingKey {
        case name, clientURLs
        case id = "ID"
    }
}

struct MemberListResponse: GatewayResponse {
    var header: ResponseHeader?
    var members: [MemberMessage]?
}

struct AuthenticateResponse: GatewayResponse {
    var header: ResponseHeader?
    var token: String?
}

struct EventMessage: Decodable, Sendable {
    /// Absent for PUT (the enum's zero value); "DELETE" for deletes.
    var type: String?
    var kv: KeyValueMessage?
}

struct WatchResponse: GatewayResponse {
    var header: ResponseHeader?
    var created: Bool?
    var canceled: Bool?
    var compactRevision: ProtoInt64?
    var cancelReason: String?
    var events: [EventMessage]?

    enum CodingKeys: String, CodingKey {
        case header, created, canceled, events
        case compactRevision = "compact_revision", cancelReason = "cancel_reason"
    }
}

/// The gateway's error body, `{"error": "...", "code": N, "message": "..."}`.
/// On a stream (watch, keepalive) it comes as `{"error": {"grpc_code": N, "message": ...}}`.
struct GatewayErrorBody: Decodable, Sendable {
    var code: Int?
    var message: String?

    enum CodingKeys: String, CodingKey { case error, code, message }
    enum StreamKeys: String, CodingKey {
        case grpcCode = "grpc_code", message
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let nested = try? container.nestedContainer(keyedBy: StreamKeys.self, forKey: .error) {
            code = try nested.decodeIfPresent(Int.self, forKey: .grpcCode)
            message = try nested.decodeIfPresent(String.self, forKey: .message)
        } else {
            code = try container.decodeIfPresent(Int.self, forKey: .code)
            message = try container.decodeIfPresent(String.self, forKey: .message)
                ?? container.decodeIfPresent(String.self, forKey: .error)
        }
    }
}

/// A streamed message: `{"result": {...}}` or `{"error": {...}}`.
struct StreamEnvelope<Result: Decodable & Sendable>: Decodable, Sendable {
    var result: Result?
    var error: GatewayErrorBody?

    enum CodingKeys: String, CodingKey { case result, error }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        result = try container.decodeIfPresent(Result.self, forKey: .result)
        error = container.contains(.error) ? try GatewayErrorBody(from: decoder) : nil
    }
}

extension StreamEnvelope: GatewayResponse where Result: GatewayResponse {
    var header: ResponseHeader? { result?.header }
    var streamError: GatewayErrorBody? { error }
}
