import NIOCore
import NIOPosix
import Synchronization

/// An etcd v3 client over the JSON gateway (`/v3/...` on the client URLs).
///
/// Every call has one deadline (`requestTimeout`) across all its attempts. Reads,
/// lease grants, keepalives and TTL queries move to the next endpoint when one
/// fails; a put or txn that was sent and got no answer is not retried and ends
/// with `.timeout`, since it may have been applied. The first answer fixes the
/// cluster id; an endpoint that later answers for another cluster is refused
/// (`.clusterMismatch`) and not used again.
///
/// The methods throw only `EtcdError`. One fresh connection serves each call.
public final class EtcdClient: Sendable {
    let configuration: EtcdConfiguration
    let exchange: HTTPExchange
    let state: Mutex<ClientState>

    /// Endpoints that do not parse are left out (and named in errors); a call
    /// with none left fails with `.unavailable`.
    public init(configuration: EtcdConfiguration, group: any EventLoopGroup) {
        self.configuration = configuration
        exchange = HTTPExchange(group: group, tls: configuration.tls)
        state = Mutex(ClientState(configured: configuration.endpoints, refreshInterval: TimeAmount(configuration.memberRefreshInterval)))
    }

    /// A client on NIO's shared event loop group.
    public convenience init(configuration: EtcdConfiguration) {
        self.init(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton)
    }

    /// The cluster this client serves, once a first answer has named it.
    public var clusterID: UInt64? { state.withLock { $0.clusterID } }

    /// The endpoints a call would try now, in order (configured and learned, minus refused).
    public var endpoints: [String] { state.withLock { $0.candidates.map(\.description) } }

    // MARK: Leases

    /// Grants a lease of `ttl` seconds (etcd may raise a small TTL to its minimum).
    public func grantLease(ttl: Int64) async throws(EtcdError) -> EtcdLease {
        let response = try await unary("/v3/lease/grant", LeaseGrantRequest(ttl: ProtoInt64(ttl)), as: LeaseGrantResponse.self, idempotent: true)
        if let error = response.error, !error.isEmpty { throw EtcdError(.rejected, "lease grant: \(error)") }
        guard let id = response.id?.value, id != 0 else { throw EtcdError(.badResponse, "lease grant answered without a lease id") }
        return EtcdLease(id: id, ttl: response.ttl.orZero)
    }

    /// Renews the lease once. Returns its TTL, or nil when the lease is gone
    /// (expired or revoked): whatever it fenced is lost.
    public func keepAlive(_ lease: Int64) async throws(EtcdError) -> Int64? {
        let response = try await unary("/v3/lease/keepalive", LeaseRequest(id: ProtoInt64(lease)),
                                       as: StreamEnvelope<LeaseKeepAliveResponse>.self, idempotent: true)
        guard let result = response.result else { throw EtcdError(.badResponse, "lease keepalive answered without a result") }
        let ttl = result.ttl.orZero
        return ttl > 0 ? ttl : nil
    }

    /// Revokes the lease, deleting the keys attached to it. A lease that is
    /// already gone counts as revoked.
    public func revokeLease(_ lease: Int64) async throws(EtcdError) {
        do {
            _ = try await unary("/v3/lease/revoke", LeaseRequest(id: ProtoInt64(lease)), as: LeaseRevokeResponse.self, idempotent: true)
        } catch where error.code == .rejected && error.gatewayCode == 5 {
            return
        }
    }

    /// The lease's remaining TTL, or nil when it is gone.
    public func timeToLive(_ lease: Int64) async throws(EtcdError) -> Int64? {
        let response = try await unary("/v3/lease/timetolive", LeaseRequest(id: ProtoInt64(lease)),
                                       as: LeaseTimeToLiveResponse.self, idempotent: true)
        let ttl = response.ttl.orZero
        return ttl >= 0 ? ttl : nil
    }

    // MARK: Keys

    /// One key's value (linearizable read), or nil when it does not exist.
    public func get(_ key: [UInt8]) async throws(EtcdError) -> (header: EtcdHeader, value: EtcdKeyValue?) {
        let response = try await unary("/v3/kv/range", RangeRequest(key: ProtoBytes(key)), as: RangeResponse.self, idempotent: true)
        let values = (response.kvs ?? []).map(\.keyValue)
        guard values.count <= 1, values.allSatisfy({ $0.key == key }) else {
            throw EtcdError(.badResponse, "a single-key range answered with other keys")
        }
        return (try header(response.header), values.first)
    }

    /// Every key starting with `prefix`, in key order.
    public func range(prefix: [UInt8]) async throws(EtcdError) -> (header: EtcdHeader, values: [EtcdKeyValue]) {
        let request = RangeRequest(key: ProtoBytes(prefix), rangeEnd: ProtoBytes(EtcdKey.prefixEnd(prefix)))
        let response = try await unary("/v3/kv/range", request, as: RangeResponse.self, idempotent: true)
        return (try header(response.header), (response.kvs ?? []).map(\.keyValue))
    }

    /// Writes one key, attached to `lease` unless it is 0. Not retried once sent.
    @discardableResult
    public func put(_ key: [UInt8], _ value: [UInt8], lease: Int64 = 0) async throws(EtcdError) -> EtcdHeader {
        let request = PutRequest(key: ProtoBytes(key), value: ProtoBytes(value), lease: lease == 0 ? nil : ProtoInt64(lease))
        let response = try await unary("/v3/kv/put", request, as: PutResponse.self, idempotent: false)
        return try header(response.header)
    }

    /// Deletes one key, or every key in [key, rangeEnd). Returns how many were deleted. Not retried once sent.
    @discardableResult
    public func delete(_ key: [UInt8], rangeEnd: [UInt8]? = nil) async throws(EtcdError) -> (header: EtcdHeader, deleted: Int64) {
        let request = DeleteRangeRequest(key: ProtoBytes(key), rangeEnd: rangeEnd.map(ProtoBytes.init))
        let response = try await unary("/v3/kv/deleterange", request, as: DeleteRangeResponse.self, idempotent: false)
        return (try header(response.header), response.deleted.orZero)
    }

    /// Runs `success` if every compare holds, else `failure`, atomically. Not retried once sent.
    public func txn(compare: [EtcdCompare], success: [EtcdOperation], failure: [EtcdOperation]) async throws(EtcdError) -> EtcdTxnResult {
        let request = TxnRequest(compare: compare.map(CompareMessage.init), success: success.map(RequestOp.init),
                                 failure: failure.map(RequestOp.init))
        let response = try await unary("/v3/kv/txn", request, as: TxnResponse.self, idempotent: false)
        let succeeded = response.succeeded ?? false
        let operations = response.responses ?? []
        var results: [EtcdOperationResult] = []
        for operation in operations {
            guard let result = operation.result else { throw EtcdError(.badResponse, "txn answered with an empty operation result") }
            results.append(result)
        }
        // A result list that does not match the branch would misreport what ran.
        guard results.count == (succeeded ? success.count : failure.count) else {
            throw EtcdError(.badResponse, "txn answered with \(results.count) results for a branch of \((succeeded ? success : failure).count)")
        }
        return EtcdTxnResult(succeeded: succeeded, header: try header(response.header), results: results)
    }

    /// Compacts the history up to `revision`: watches from before it end with `.compacted`.
    public func compact(_ revision: Int64) async throws(EtcdError) {
        _ = try await unary("/v3/kv/compaction", CompactionRequest(revision: ProtoInt64(revision), physical: true),
                            as: PutResponse.self, idempotent: true)
    }

    // MARK: Cluster

    /// The cluster's members. Their client URLs join the endpoints this client tries.
    public func members() async throws(EtcdError) -> [EtcdMember] {
        try await members(deadline: nil)
    }

    func members(deadline: NIODeadline?) async throws(EtcdError) -> [EtcdMember] {
        let response = try await unary("/v3/cluster/member/list", EmptyRequest(), as: MemberListResponse.self, idempotent: true,
                                       deadline: deadline, refreshMembers: false)
        let members = (response.members ?? []).map {
            EtcdMember(id: $0.id.orZero, name: $0.name ?? "", clientURLs: $0.clientURLs ?? [])
        }
        state.withLock { $0.learn(members.flatMap(\.clientURLs)) }
        return members
    }

    func header(_ header: ResponseHeader?) throws(EtcdError) -> EtcdHeader {
        guard let header else { throw EtcdError(.badResponse, "an answer came without a header") }
        return header.value
    }
}
