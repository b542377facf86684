import Cluster
import Foundation
import Testing

struct ElectionCase: Decodable, Sendable, CustomStringConvertible {
    var name: String
    var members: [String]
    var alive: [String]
    var held: [[Int64Or]]
    var expect: [String: String]
    var description: String { name }

    /// A held entry mixes a string and numbers.
    enum Int64Or: Decodable, Sendable {
        case text(String), number(Int64), flag(Bool)
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) { self = .flag(flag) }
            else if let number = try? container.decode(Int64.self) { self = .number(number) }
            else { self = .text(try container.decode(String.self)) }
        }
    }

    func election() throws -> Election {
        let candidates = try held.enumerated().map { index, entry in
            guard (3...4).contains(entry.count), case let .text(node) = entry[0], case let .number(epoch) = entry[1], case let .number(time) = entry[2] else {
                throw ClusterRecordError("bad held entry in \(name)")
            }
            var live = false
            if entry.count == 4, case let .flag(flag) = entry[3] { live = flag }
            let snapshot = String(repeating: "ab", count: 32)
            return Election.Candidate(held: HeldSnapshot(node: node, snapshot: snapshot, epoch: UInt64(epoch), timeNanoseconds: time, live: live),
                                      revision: Int64(100 + index))
        }
        return Election(volume: "v", members: members, alive: Set(alive), held: candidates)
    }

    static func all() throws -> [ElectionCase] { try ClusterVectors.cases("elections.json") }
}

@Suite("Cluster records, keys and elections")
struct ClusterTests {
    @Test("elections of testdata/cluster", arguments: try ElectionCase.all())
    func election(_ vector: ElectionCase) throws {
        let election = try vector.election()
        for (node, expected) in vector.expect {
            let outcome: String = switch election.outcome(for: node) {
            case .campaign: "campaign"
            case let .wait(other): "wait:\(other)"
            case .ineligible: "ineligible"
            }
            #expect(outcome == expected, "\(node)")
        }
        // Whatever the order etcd lists the records in, every member agrees.
        let reversed = Election(volume: "v", members: vector.members, alive: Set(vector.alive), held: election.candidates.reversed())
        #expect(reversed.winner == election.winner)
    }

    @Test("keys: names below a parent, nothing else")
    func keys() {
        let keys = ClusterKeys(prefix: "/barge/a/")
        #expect(keys.owner("git") == Array("/barge/a/owners/git".utf8))
        #expect(keys.name(in: keys.owner("git"), below: keys.owners) == "git")
        #expect(keys.name(in: keys.held("git", by: "n2"), below: keys.held("git")) == "n2")
        #expect(keys.name(in: Array("/barge/a/owners/a/b".utf8), below: keys.owners) == nil)
        #expect(keys.name(in: Array("/barge/a/owners/".utf8), below: keys.owners) == nil)
        #expect(keys.name(in: Array("/barge/a/owners/UP".utf8), below: keys.owners) == nil)
        #expect(keys.name(in: Array("/barge/b/owners/git".utf8), below: keys.owners) == nil)
        #expect(keys.name(in: [UInt8]("/barge/a/owners/".utf8) + [0xFF, 0x61], below: keys.owners) == nil)
        let early = keys.event("git", token: 99), late = keys.event("git", token: 1000)
        #expect(early.lexicographicallyPrecedes(late), "event keys sort by token")
    }

    @Test("records round-trip")
    func roundTrip() throws {
        let held = HeldSnapshot(node: "n2", snapshot: String(repeating: "0f", count: 32), epoch: 77, timeNanoseconds: 123)
        #expect(try HeldSnapshot.decode(held.encoded()) == held)
        let owner = OwnerValue(owner: "n1")
        #expect(try OwnerValue.decode(owner.encoded()) == owner)
        let node = NodeRecord(node: "n3", address: "127.0.0.3:7420", startedNanoseconds: 5)
        #expect(try NodeRecord.decode(node.encoded()) == node)
    }

    @Test("hostile records are refused", arguments: [
        #"{"owner": "../n1"}"#, #"{"owner": ""}"#, #"{"owner": 7}"#, #"{"ownr": "n1"}"#, "not json", "",
        #"{"owner": "N1"}"#, #"{"owner": "n1\u0000"}"#,
    ])
    func hostileOwner(_ text: String) {
        #expect(throws: ClusterRecordError.self) { try OwnerValue.decode(Array(text.utf8)) }
    }

    @Test("a valid held record decodes (the hostile ones below differ in one field)")
    func validHeld() throws {
        let text = #"{"node":"n2","snapshot":"\#(String(repeating: "a", count: 64))","epoch":1,"time_ns":1,"live":false}"#
        #expect(try HeldSnapshot.decode(Array(text.utf8)).node == "n2")
    }

    @Test("hostile held records are refused", arguments: [
        #"{"node":"n2","snapshot":"abc","epoch":1,"time_ns":1,"live":false}"#,
        #"{"node":"n2","snapshot":"\#(String(repeating: "G", count: 64))","epoch":1,"time_ns":1,"live":false}"#,
        #"{"node":"n2","snapshot":"\#(String(repeating: "a", count: 64))","epoch":-1,"time_ns":1,"live":false}"#,
        #"{"node":"x/y","snapshot":"\#(String(repeating: "a", count: 64))","epoch":1,"time_ns":1,"live":false}"#,
    ])
    func hostileHeld(_ text: String) {
        #expect(throws: ClusterRecordError.self) { try HeldSnapshot.decode(Array(text.utf8)) }
    }

    @Test("tokens from etcd revisions exceed manual epochs and map back")
    func tokens() {
        #expect(OwnerValue.token(modRevision: 2) > UInt64(UInt32.max))
        #expect(OwnerValue.token(modRevision: 9) > OwnerValue.token(modRevision: 8))
        #expect(OwnerValue.modRevision(token: OwnerValue.token(modRevision: 77)) == 77)
        #expect(OwnerValue.modRevision(token: 5) == nil)
    }

    @Test("an oversized record is refused before decoding")
    func oversized() {
        let big = Array(#"{"owner":"n1","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 5000) + Array(#""}"#.utf8)
        #expect(throws: ClusterRecordError.self) { try OwnerValue.decode(big) }
    }

    @Test("lease guard: fence from half the TTL after the last confirmed send")
    func leaseGuard() {
        var guardian = LeaseGuard(ttlSeconds: 4)
        #expect(guardian.mustFence(now: 0), "no lease confirmed yet")
        guardian.confirmed(sentAt: 10_000_000_000)
        #expect(!guardian.mustFence(now: 11_999_999_999))
        #expect(guardian.mustFence(now: 12_000_000_000))
        guardian.confirmed(sentAt: 9_000_000_000)   // a late answer to an older keepalive moves nothing back
        #expect(guardian.fenceDeadline == 12_000_000_000)
        guardian.confirmed(sentAt: 11_000_000_000)
        #expect(!guardian.mustFence(now: 12_500_000_000))
        guardian.lost()
        #expect(guardian.mustFence(now: 12_500_000_000))
        #expect(guardian.keepaliveInterval == 666_666_666, "three keepalives fit before the fence deadline")
    }
}

/// One case of testdata/cluster/lease-watch.json; its "about" field documents the format.
struct LeaseWatchCase: Decodable, Sendable, CustomStringConvertible {
    enum Step: Decodable, Sendable {
        case confirm(seconds: Double), lost, guardStopped, watch(seconds: Double, expect: String)

        init(from decoder: any Decoder) throws {
            var fields = try decoder.unkeyedContainer()
            switch try fields.decode(String.self) {
            case "confirm": self = .confirm(seconds: try fields.decode(Double.self))
            case "lost": self = .lost
            case "guard": self = .guardStopped
            case "watch": self = .watch(seconds: try fields.decode(Double.self), expect: try fields.decode(String.self))
            case let other: throw DecodingError.dataCorruptedError(in: fields, debugDescription: "unknown step \(other)")
            }
        }
    }

    var name: String
    var steps: [Step]
    var description: String { name }

    static func all() throws -> [LeaseWatchCase] { try ClusterVectors.cases("lease-watch.json") }
}

@Suite("The fence watchdog's decisions")
struct LeaseWatchTests {
    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64((seconds * 1e9).rounded()) }

    @Test("lease-watch vectors of testdata/cluster", arguments: try LeaseWatchCase.all())
    func watch(_ vector: LeaseWatchCase) {
        var guardian = LeaseGuard(ttlSeconds: 3)
        for (index, step) in vector.steps.enumerated() {
            switch step {
            case let .confirm(seconds): guardian.confirmed(sentAt: Self.nanoseconds(seconds))
            case .lost: guardian.lost()
            case .guardStopped: guardian.guardStoppedContainer()
            case let .watch(seconds, expect):
                let change: String = switch guardian.watch(now: Self.nanoseconds(seconds)) {
                case .fence?: "fence"
                case .unfence?: "unfence"
                case nil: "none"
                }
                #expect(change == expect, "step \(index): watch at \(seconds) s")
            }
        }
    }

    @Test("the vector file has cases")
    func casesAreLoaded() throws {
        #expect(try LeaseWatchCase.all().count >= 8)
    }
}

/// The vector files of testdata/cluster: `{"about": ..., "cases": [...]}`.
enum ClusterVectors {
    private struct File<Case: Decodable>: Decodable { var cases: [Case] }

    static func cases<Case: Decodable>(_ name: String) throws -> [Case] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("testdata/cluster/" + name))
        return try JSONDecoder().decode(File<Case>.self, from: data).cases
    }
}
