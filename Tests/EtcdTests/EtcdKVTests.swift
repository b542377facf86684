import Etcd
import Testing
import TestSupport

/// Keys, transactions and leases against a real single-member etcd.
@Suite(.serialized) struct EtcdKVTests {
    @Test func putGetRangeWithBinaryKeys() async throws {
        let cluster = try await EtcdCluster(label: "kv")
        let etcd = makeClient(cluster.endpoints)
        // Not UTF-8: a lone 0xff, 0x00 inside, an invalid sequence 0xc3 0x28.
        let prefix: [UInt8] = [0x2f, 0xff, 0x00, 0x80]
        var random = SplitMix64(seed: 11)
        let keys = [prefix + [0xc3, 0x28], prefix + [0x00], prefix + [0xfe, 0xff], prefix]
        var values: [[UInt8]: [UInt8]] = [:]
        var lastRevision: Int64 = 0
        for key in keys {
            let value = random.bytes(1 + random.below(300))
            values[key] = value
            let header = try await etcd.put(key, value)
            #expect(header.revision > lastRevision)
            lastRevision = header.revision
        }
        // Just outside the prefix on both sides.
        try await etcd.put([0x2f, 0xff, 0x00, 0x7f], [1])
        try await etcd.put([0x2f, 0xff, 0x00, 0x81], [2])
        for key in keys {
            let (header, kv) = try await etcd.get(key)
            #expect(kv?.key == key)
            #expect(kv?.value == values[key])
            #expect(kv?.version == 1)
            #expect(kv?.createRevision == kv?.modRevision)
            #expect(header.clusterID == etcd.clusterID)
        }
        #expect(try await etcd.get(prefix + [0x01]).value == nil)
        let (_, found) = try await etcd.range(prefix: prefix)
        #expect(found.map(\.key) == keys.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(found.allSatisfy { values[$0.key] == $0.value })
        #expect(try await etcd.delete(keys[0]).deleted == 1)
        #expect(try await etcd.get(keys[0]).value == nil)
        #expect(try await etcd.range(prefix: [0x2f, 0xfe]).values.isEmpty)
        #expect(etcd.clusterID != nil && etcd.clusterID != 0)
    }

    @Test func txnWinsWhenTheKeyIsFreeAndLosesWithTheCurrentValue() async throws {
        let cluster = try await EtcdCluster(label: "txn")
        let first = makeClient(cluster.endpoints), second = makeClient(cluster.endpoints)
        let key = bytes("/owner/vol1")
        func claim(_ client: EtcdClient, as node: String) async throws -> EtcdTxnResult {
            try await client.txn(compare: [.createRevision(key: key, .equal, 0)],
                                 success: [.put(key: key, value: bytes(node))],
                                 failure: [.range(key: key)])
        }
        let won = try await claim(first, as: "node-a")
        #expect(won.succeeded)
        guard case .put? = won.results.first, won.results.count == 1 else { Issue.record("results \(won.results)"); return }
        let lost = try await claim(second, as: "node-b")
        #expect(!lost.succeeded)
        guard case let .range(kvs)? = lost.results.first else { Issue.record("results \(lost.results)"); return }
        #expect(kvs.map(\.value) == [bytes("node-a")])
        #expect(kvs.first?.createRevision == won.header.revision)
        // A fencing write guarded by the owner's mod revision: the stale one loses, the current one wins.
        let current = try #require(kvs.first?.modRevision)
        let stale = try await second.txn(compare: [.modRevision(key: key, .equal, current - 1)], success: [.delete(key: key)], failure: [])
        #expect(!stale.succeeded && stale.results.isEmpty)
        let fresh = try await first.txn(compare: [.modRevision(key: key, .equal, current), .value(key: key, .equal, bytes("node-a"))],
                                        success: [.delete(key: key), .put(key: bytes("/owner/vol2"), value: [0])], failure: [])
        #expect(fresh.succeeded)
        #expect(fresh.results == [.delete(deleted: 1), .put])
        let versionCheck = try await first.txn(compare: [.version(key: bytes("/owner/vol2"), .greater, 0), .lease(key: bytes("/owner/vol2"), .equal, 0)],
                                               success: [.range(key: bytes("/owner/"), rangeEnd: EtcdKey.prefixEnd(bytes("/owner/")))], failure: [])
        #expect(versionCheck.succeeded)
        #expect(versionCheck.results == [.range([try #require(try await first.get(bytes("/owner/vol2")).value)])])
    }

    @Test func leaseHoldsTheKeyWhileKeptAliveAndDropsItAfter() async throws {
        let cluster = try await EtcdCluster(label: "lease")
        let etcd = makeClient(cluster.endpoints)
        // Keepalives every 0.7 s leave a loaded machine 2 s of slack on a 3 s lease.
        let lease = try await etcd.grantLease(ttl: 3)
        #expect(lease.id != 0 && lease.ttl >= 3)
        let key = bytes("/owner/leased")
        try await etcd.put(key, bytes("me"), lease: lease.id)
        #expect(try await etcd.get(key).value?.lease == lease.id)
        for _ in 0..<4 {
            try await Task.sleep(for: .milliseconds(700))
            let ttl = try #require(try await etcd.keepAlive(lease.id))
            #expect(ttl >= 1 && ttl <= lease.ttl)
            #expect(try await etcd.get(key).value != nil)
        }
        #expect((try await etcd.timeToLive(lease.id) ?? 0) > 0)
        // No more keepalives: etcd deletes the key once the TTL runs out.
        #expect(try await eventually(within: .seconds(15)) { try await etcd.get(key).value == nil })
        #expect(try await etcd.keepAlive(lease.id) == nil)
        #expect(try await etcd.timeToLive(lease.id) == nil)
    }

    @Test func revokeDeletesTheAttachedKeys() async throws {
        let cluster = try await EtcdCluster(label: "revoke")
        let etcd = makeClient(cluster.endpoints)
        let lease = try await etcd.grantLease(ttl: 60)
        try await etcd.put(bytes("/a"), [1], lease: lease.id)
        try await etcd.put(bytes("/b"), [2], lease: lease.id)
        try await etcd.revokeLease(lease.id)
        #expect(try await etcd.range(prefix: bytes("/")).values.isEmpty)
        #expect(try await etcd.keepAlive(lease.id) == nil)
        // Revoking a lease that is gone is not an error.
        try await etcd.revokeLease(lease.id)
        // A put on a gone lease is refused by etcd, with its code and message.
        let error = await etcdFailure { try await etcd.put(bytes("/c"), [3], lease: lease.id) }
        #expect(error?.code == .rejected)
        #expect(error?.gatewayCode == 5)
        #expect(error?.message.contains("lease not found") == true)
    }

    @Test func oversizedResponsesAreRefused() async throws {
        let cluster = try await EtcdCluster(label: "big")
        let writer = makeClient(cluster.endpoints)
        for index in 0..<3 { try await writer.put(bytes("/big/\(index)"), Array(repeating: 0x41, count: 2_000)) }
        let small = makeClient(cluster.endpoints) { $0.maxResponseBytes = 4_096 }
        #expect(try await small.get(bytes("/big/0")).value?.value.count == 2_000)
        let error = await etcdFailure { try await small.range(prefix: bytes("/big/")) }
        #expect(error?.code == .badResponse)
        // A watch message over the bound ends the watch the same way.
        let huge = try await writer.put(bytes("/big/huge"), Array(repeating: 0x42, count: 5_000))
        let watch = small.watch(prefix: bytes("/big/"), fromRevision: huge.revision)
        let ended = await ending(of: watch, within: .seconds(10))
        #expect((ended as? EtcdError)?.code == .badResponse, "\(String(describing: ended))")
    }
}
