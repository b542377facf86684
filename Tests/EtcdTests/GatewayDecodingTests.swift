import Foundation
@testable import Etcd
import Testing

/// Decoding of JSON captured from the gateway, with proto3's omitted defaults.
@Suite struct GatewayDecodingTests {
    private func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(try Vectors.bytes(name)))
    }

    @Test func lostTxnHasNoSucceededField() throws {
        let lost = try decode(TxnResponse.self, "txn-lost.json")
        #expect(lost.succeeded == nil)
        let results = lost.responses?.compactMap(\.result)
        #expect(results == [.range([EtcdKeyValue(key: Array("/w/t".utf8), value: [1], createRevision: 8, modRevision: 8, version: 1, lease: 0)])])
        #expect(lost.header?.value == EtcdHeader(clusterID: 13858927436611866398, memberID: 4577858347370119897, revision: 8, raftTerm: 2))
        let won = try decode(TxnResponse.self, "txn-won.json")
        #expect(won.succeeded == true)
        #expect(won.responses?.compactMap(\.result) == [.put])
    }

    @Test func keepaliveOnAGoneLeaseHasNoTTL() throws {
        let response = try decode(StreamEnvelope<LeaseKeepAliveResponse>.self, "keepalive-expired.json")
        #expect(response.result?.id?.value == 12345)
        #expect(response.result?.ttl == nil)
        #expect(response.header?.clusterID?.value == 13858927436611866398)
        #expect(response.streamError == nil)
    }

    @Test func emptyRangeHasNoKvs() throws {
        let response = try decode(RangeResponse.self, "range-empty.json")
        #expect(response.kvs == nil)
        #expect(response.header?.revision?.value == 1)
    }

    @Test func gatewayErrorBody() throws {
        let error = try decode(GatewayErrorBody.self, "error-bad-base64.json")
        #expect(error.code == 3)
        #expect(error.message == "illegal base64 data at input byte 3")
        let streamed = try JSONDecoder().decode(StreamEnvelope<WatchResponse>.self, from: Data(#"{"error":{"grpc_code":14,"http_code":503,"message":"no leader"}}"#.utf8))
        #expect(streamed.error?.code == 14)
        #expect(streamed.error?.message == "no leader")
    }

    @Test func memberList() throws {
        let response = try decode(MemberListResponse.self, "member-list.json")
        #expect(response.members?.first?.clientURLs == ["http://127.0.0.1:23791"])
        #expect(response.members?.first?.id?.value == 4577858347370119897)
    }

    @Test func watchEventsPutHasNoTypeDeleteCarriesKeyAndRevision() throws {
        var messages = WatchMessages(endpoint: Endpoint("http://127.0.0.1:1")!)
        var events: [EtcdWatchEvent] = []
        for line in try Vectors.bytes("watch-put-delete.jsonl").split(separator: UInt8(ascii: "\n")) {
            let response = try #require(try messages.decode(Array(line)).result)
            #expect(messages.check(response, authenticating: false) == nil)
            if let batch = try messages.batch(response) { events += batch.events }
        }
        #expect(messages.created)
        let summary = events.map { event -> String in
            let kv = event.keyValue
            let kind = if case .put = event { "put" } else { "delete" }
            return "\(kind) \(String(decoding: kv.key, as: UTF8.self)) \(kv.modRevision) \(kv.value)"
        }
        #expect(summary == [
            "put /w/k1 3 [118, 0, 255, 49]", "put /w/k2 4 [118, 0, 255, 50]", "put /w/k3 5 [118, 0, 255, 51]",
            "delete /w/k2 6 []", "delete /w/k1 7 []", "delete /w/k3 7 []",
        ])
    }

    @Test func compactedWatchIsCancelledWithTheCompactRevision() throws {
        var messages = WatchMessages(endpoint: Endpoint("http://127.0.0.1:1")!)
        let lines = try Vectors.bytes("watch-compacted.jsonl").split(separator: UInt8(ascii: "\n"))
        #expect(messages.check(try #require(try messages.decode(Array(lines[0])).result), authenticating: false) == nil)
        let failure = messages.check(try #require(try messages.decode(Array(lines[1])).result), authenticating: false)
        guard case let .fail(error)? = failure else { Issue.record("not a failure: \(String(describing: failure))"); return }
        #expect(error.code == .compacted)
        #expect(error.compactRevision == 5)
    }

    @Test func authCancelledWatchAsksForAFreshTokenOnlyWithCredentials() throws {
        let line = try Vectors.bytes("watch-auth-cancelled.jsonl").split(separator: UInt8(ascii: "\n"))[0]
        var messages = WatchMessages(endpoint: Endpoint("http://127.0.0.1:1")!)
        let response = try #require(try messages.decode(Array(line)).result)
        #expect(messages.check(response, authenticating: true) == .reauthenticate)
        var anonymous = WatchMessages(endpoint: Endpoint("http://127.0.0.1:1")!)
        guard case let .fail(error)? = anonymous.check(response, authenticating: false) else { Issue.record("not a failure"); return }
        #expect(error.code == .unauthenticated)
    }
}

extension AttemptError: Equatable {
    public static func == (lhs: AttemptError, rhs: AttemptError) -> Bool {
        switch (lhs, rhs) {
        case (.reauthenticate, .reauthenticate): true
        case let (.fail(a), .fail(b)): a.code == b.code && a.message == b.message
        default: false
        }
    }
}
