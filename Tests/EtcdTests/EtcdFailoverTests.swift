import Etcd
import Foundation
import Testing
import TestSupport

/// Endpoints, deadlines and the cluster-id check against real etcd clusters.
@Suite(.serialized) struct EtcdFailoverTests {
    @Test func requestsMoveToAnotherMemberWhenTheirsIsKilled() async throws {
        let cluster = try await EtcdCluster(members: 3, label: "failover")
        // The leader first: killing it costs an election as well as the connection.
        let leader = try #require(try await cluster.leader())
        let order = [leader] + (0..<3).filter { $0 != leader }
        let etcd = makeClient(order.map(cluster.endpoint)) { $0.requestTimeout = .seconds(5) }
        try await etcd.put(bytes("/f/before"), [1])
        let lease = try await etcd.grantLease(ttl: 30)
        #expect(etcd.endpoints.first == cluster.endpoint(leader))
        cluster.kill(leader)
        #expect(try await etcd.get(bytes("/f/before")).value?.value == [1])
        #expect(etcd.endpoints.first != cluster.endpoint(leader))
        // A put sent while the members still elect a leader may time out (outcome unknown, never
        // retried by the client); this one is idempotent, so the test may send it again.
        let deadline = ContinuousClock.now + .seconds(30)
        var stored = false
        while !stored {
            do {
                try await etcd.put(bytes("/f/after"), [2])
                stored = true
            } catch {
                let timedOut = error.code == .timeout
                try #require(timedOut && ContinuousClock.now < deadline, "\(error)")
            }
        }
        #expect(try await etcd.keepAlive(lease.id) != nil)
        let members = try await etcd.members()
        #expect(members.count == 3)
        #expect(Set(members.flatMap(\.clientURLs)) == Set(cluster.endpoints))
        // Back, the member serves again.
        try await cluster.restart(leader)
        let back = makeClient([cluster.endpoint(leader)]) { $0.requestTimeout = .seconds(5) }
        #expect(try await back.get(bytes("/f/after")).value?.value == [2])
    }

    @Test func endpointsAreLearnedFromTheMemberList() async throws {
        let cluster = try await EtcdCluster(members: 3, label: "learn")
        // Configured with one follower; the others come from the member list. (Were
        // it the leader, a put right after its death may hang until the election.)
        let leader = try #require(try await cluster.leader())
        let follower = (leader + 1) % 3
        let etcd = makeClient([cluster.endpoint(follower)]) { $0.requestTimeout = .seconds(5) }
        _ = try await etcd.members()
        #expect(Set(etcd.endpoints) == Set(cluster.endpoints))
        cluster.kill(follower)
        try await etcd.put(bytes("/l"), [1])
        #expect(try await etcd.get(bytes("/l")).value?.value == [1])
    }

    @Test func anEndpointOfAnotherClusterIsRefused() async throws {
        let first = try await EtcdCluster(label: "mismatch-a")
        let second = try await EtcdCluster(label: "mismatch-b")
        let etcd = makeClient([first.endpoint(0), second.endpoint(0)])
        try await etcd.put(bytes("/m"), [1])
        let clusterID = try #require(etcd.clusterID)
        first.kill(0)
        let error = await etcdFailure { try await etcd.get(bytes("/m")) }
        #expect(error?.code == .clusterMismatch, "\(String(describing: error))")
        #expect(etcd.clusterID == clusterID)
        #expect(etcd.endpoints == [first.endpoint(0)])
        // The refused endpoint stays refused; with the first cluster down nothing is left.
        #expect(await etcdFailure { try await etcd.get(bytes("/m")) }?.code == .unavailable)
        let none = makeClient(["127.0.0.1:2379"])
        let error2 = await etcdFailure { try await none.get(bytes("/m")) }
        #expect(error2?.code == .unavailable)
        #expect(error2?.message.contains("127.0.0.1:2379") == true)
        // Even when the first cluster is back, writes never go to the other one.
        try await first.restart(0)
        #expect(try await etcd.get(bytes("/m")).value?.value == [1])
        #expect(try await makeClient([second.endpoint(0)]).get(bytes("/m")).value == nil)
    }

    @Test func withEveryMemberDownCallsFailWithinTheirDeadline() async throws {
        let cluster = try await EtcdCluster(members: 3, label: "down")
        let deadline = Duration.seconds(1)
        // Margin for a loaded machine: this bounds the wait, it does not time the client.
        let margin = Duration.milliseconds(750)
        let etcd = makeClient(cluster.endpoints) { $0.requestTimeout = deadline }
        try await etcd.put(bytes("/d"), [1])
        let lease = try await etcd.grantLease(ttl: 30)

        // Frozen: connections open, nothing answers.
        for member in 0..<3 { cluster.pause(member) }
        for call in [Call.get, .put, .keepAlive, .txn] {
            let started = ContinuousClock.now
            let error = await etcdFailure { try await call.run(on: etcd, lease: lease.id) }
            let elapsed = ContinuousClock.now - started
            #expect(error?.code == .timeout || error?.code == .unavailable, "\(call): \(String(describing: error))")
            #expect(elapsed < deadline + margin, "\(call) took \(elapsed)")
        }
        for member in 0..<3 { cluster.resume(member) }

        // Gone: connections refused.
        for member in 0..<3 { cluster.kill(member) }
        for call in [Call.get, .put, .keepAlive, .txn] {
            let started = ContinuousClock.now
            let error = await etcdFailure { try await call.run(on: etcd, lease: lease.id) }
            #expect(error?.code == .unavailable, "\(call): \(String(describing: error))")
            #expect(ContinuousClock.now - started < deadline + margin)
        }
    }

    enum Call: String, CustomStringConvertible {
        case get, put, keepAlive, txn

        var description: String { rawValue }

        func run(on etcd: EtcdClient, lease: Int64) async throws {
            switch self {
            case .get: _ = try await etcd.get(bytes("/d"))
            case .put: try await etcd.put(bytes("/d"), [2])
            case .keepAlive: _ = try await etcd.keepAlive(lease)
            case .txn: _ = try await etcd.txn(compare: [.version(key: bytes("/d"), .equal, 1)], success: [.put(key: bytes("/d"), value: [3])], failure: [])
            }
        }
    }

    @Test func authWithWrongPasswordIsUnauthenticatedAndTheRightOneWorks() async throws {
        let cluster = try await EtcdCluster(label: "auth")
        let plain = makeClient(cluster.endpoints)
        try await plain.put(bytes("/a/open"), [1])
        // With auth off, credentials are harmless.
        let early = makeClient(cluster.endpoints) { $0.credentials = EtcdCredentials(user: "root", password: "secret") }
        #expect(try await early.get(bytes("/a/open")).value?.value == [1])

        try await cluster.post("/v3/auth/user/add", #"{"name":"root","password":"secret"}"#)
        try await cluster.post("/v3/auth/role/add", #"{"name":"root"}"#)
        try await cluster.post("/v3/auth/user/grant", #"{"user":"root","role":"root"}"#)
        try await cluster.post("/v3/auth/enable", "{}")

        let wrong = makeClient(cluster.endpoints) { $0.credentials = EtcdCredentials(user: "root", password: "guess") }
        #expect(await etcdFailure { try await wrong.get(bytes("/a/open")) }?.code == .unauthenticated)
        #expect(await etcdFailure { try await plain.get(bytes("/a/open")) }?.code == .unauthenticated)

        let right = makeClient(cluster.endpoints) { $0.credentials = EtcdCredentials(user: "root", password: "secret") }
        let start = try await right.put(bytes("/a/closed"), [2]).revision
        #expect(try await right.get(bytes("/a/closed")).value?.value == [2])
        let batches = try await collect(right.watch(prefix: bytes("/a/"), fromRevision: start), events: 1)
        #expect(batches.first?.events.first?.keyValue.value == [2])
        // The client that saw auth off picks it up.
        #expect(try await early.get(bytes("/a/closed")).value?.value == [2])
        // A restart forgets the tokens it issued: the client authenticates again by itself.
        try await cluster.restart(0)
        #expect(try await right.get(bytes("/a/closed")).value?.value == [2])
        #expect(await etcdFailure { try await wrong.get(bytes("/a/open")) }?.code == .unauthenticated)
    }
}
