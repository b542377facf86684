import Etcd
import Foundation
import Testing
import TestSupport

/// Watches against a real etcd: events in order, compaction, and how a watch ends.
@Suite(.serialized) struct EtcdWatchTests {
    @Test func watchSeesPutsAndDeletesInOrder() async throws {
        let cluster = try await EtcdCluster(label: "watch")
        let etcd = makeClient(cluster.endpoints)
        let start = try await etcd.put(bytes("/other"), [0]).revision + 1
        let watch = etcd.watch(prefix: bytes("/w/"), fromRevision: start)
        try await etcd.put(bytes("/w/a"), [0x00, 0xff])
        try await etcd.put(bytes("/x/outside"), [1])
        try await etcd.put(bytes("/w/b"), [2])
        try await etcd.put(bytes("/w/a"), [3])
        try await etcd.delete(bytes("/w/a"))
        // Two deletes in one revision arrive in one batch.
        _ = try await etcd.txn(compare: [], success: [.delete(key: bytes("/w/b")), .put(key: bytes("/w/c"), value: [4])], failure: [])
        let batches = try await collect(watch, events: 6)
        let events = batches.flatMap(\.events)
        let summary = events.map { event -> String in
            let kv = event.keyValue
            let kind = if case .put = event { "put" } else { "delete" }
            return "\(kind) \(String(decoding: kv.key, as: UTF8.self)) @\(kv.modRevision - start) \(kv.value)"
        }
        #expect(summary == [
            "put /w/a @0 [0, 255]", "put /w/b @2 [2]", "put /w/a @3 [3]", "delete /w/a @4 []",
            "delete /w/b @5 []", "put /w/c @5 [4]",
        ])
        #expect(batches.allSatisfy { $0.header.clusterID == etcd.clusterID })
        #expect(zip(batches, batches.dropFirst()).allSatisfy { $0.header.revision < $1.header.revision })
    }

    @Test func watchFromACompactedRevisionFailsWithCompacted() async throws {
        let cluster = try await EtcdCluster(label: "compact")
        let etcd = makeClient(cluster.endpoints)
        var revision: Int64 = 0
        for index in 0..<5 { revision = try await etcd.put(bytes("/c/\(index)"), [UInt8(index)]).revision }
        try await etcd.compact(revision - 1)
        let ended = await ending(of: etcd.watch(prefix: bytes("/c/"), fromRevision: revision - 3), within: .seconds(10))
        let error = try #require(ended as? EtcdError, "\(String(describing: ended))")
        #expect(error.code == .compacted)
        #expect(error.compactRevision == revision - 1)
        // From the compact revision on, history is there.
        let batches = try await collect(etcd.watch(prefix: bytes("/c/"), fromRevision: revision), events: 1)
        #expect(batches.first?.events.first?.keyValue.key == bytes("/c/4"))
    }

    @Test func watchEndsWithAnErrorWhenItsMemberDies() async throws {
        let cluster = try await EtcdCluster(label: "watchkill")
        let etcd = makeClient(cluster.endpoints)
        let start = try await etcd.put(bytes("/k/0"), [0]).revision
        let watch = etcd.watch(prefix: bytes("/k/"), fromRevision: start)
        _ = try await collect(watch, events: 1)
        cluster.kill(0)
        let ended = await ending(of: watch, within: .seconds(10))
        #expect((ended as? EtcdError)?.code == .unavailable, "\(String(describing: ended))")
    }

    @Test func watchEndsWhenItsMemberFreezes() async throws {
        let cluster = try await EtcdCluster(label: "watchstop")
        let etcd = makeClient(cluster.endpoints) {
            $0.watchProbeInterval = .milliseconds(300)
            $0.requestTimeout = .seconds(1)
        }
        let start = try await etcd.put(bytes("/k/0"), [0]).revision
        let watch = etcd.watch(prefix: bytes("/k/"), fromRevision: start)
        _ = try await collect(watch, events: 1)
        // A stopped process keeps its sockets open: only the probe can tell.
        cluster.pause(0)
        defer { cluster.resume(0) }
        let ended = await ending(of: watch, within: .seconds(10))
        #expect((ended as? EtcdError)?.code == .unavailable, "\(String(describing: ended))")
    }

    @Test func leavingTheLoopCancelsTheWatch() async throws {
        let cluster = try await EtcdCluster(label: "watchleave")
        let etcd = makeClient(cluster.endpoints)
        func watchers() async throws -> Int? {
            let line = try await cluster.metrics().split(separator: "\n").first { $0.hasPrefix("etcd_debugging_mvcc_watcher_total ") }
            return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) }
        }
        #expect(try await watchers() == 0)
        let start = try await etcd.put(bytes("/k/1"), [1]).revision
        var iterator = etcd.watch(prefix: bytes("/k/"), fromRevision: start).makeAsyncIterator()
        _ = try await iterator.next()
        #expect(try await watchers() == 1)
        for try await _ in etcd.watch(prefix: bytes("/k/"), fromRevision: start) { break }
        // The first batch came while etcd counted the second watcher; once the loop is left it goes.
        #expect(try await eventually(within: .seconds(5)) { try await watchers() == 1 })
        _ = iterator
    }
}
