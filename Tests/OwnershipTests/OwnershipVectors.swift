import Foundation
import Ownership

/// One case of testdata/ownership/transitions.json; its "about" field documents the format.
struct OwnershipCase: Decodable, Sendable, CustomStringConvertible {
    var name: String
    var node: String
    var members: [String]
    var record: String
    var container: String
    var event: OwnershipEvent
    var actions: [String]?
    var refuse: String?
    var recordAfter: String
    var containerAfter: String

    var description: String { name }

    enum CodingKeys: String, CodingKey {
        case name, node, members, record, container, event, actions, refuse
        case recordAfter = "record_after", containerAfter = "container_after"
    }

    func state() throws -> VolumeOwnership {
        VolumeOwnership(volume: "v", node: node, members: members, record: try Self.record(record), container: try Self.container(container))
    }

    static func record(_ text: String) throws -> OwnerRecord {
        guard let record = OwnerRecord(text) else { throw VectorError("bad record \(text)") }
        return record
    }

    static func container(_ text: String) throws -> ContainerState {
        guard let state = ContainerState(rawValue: text) else { throw VectorError("bad container state \(text)") }
        return state
    }

    static func all() throws -> [OwnershipCase] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        struct File: Decodable { var cases: [OwnershipCase] }
        let data = try Data(contentsOf: root.appendingPathComponent("testdata/ownership/transitions.json"))
        return try JSONDecoder().decode(File.self, from: data).cases
    }
}

struct VectorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An event of the vectors, applied to a state.
enum OwnershipEvent: Decodable, Sendable {
    case offer(from: String, owner: String, epoch: UInt64)
    case learn(String)
    case prepare(from: String, epoch: UInt64, snapshot: String)
    case commit(from: String, epoch: UInt64, snapshot: String)
    case abort(epoch: UInt64, standbyInPlace: Bool)
    case handedOver(to: String, epoch: UInt64, final: String)
    case rollBack(target: String, proposed: UInt64, token: UInt64?)
    case takeBack(from: String, final: String, token: UInt64?)
    case failover(force: Bool, ownerAnswer: String?, dataAtPath: Bool)
    case reconcile(answered: Bool, highest: String?)
    case leaseLost
    case leaseRestored(String)
    case elected(UInt64)

    private struct Fields: Decodable {
        var from: String?, owner: String?, epoch: UInt64?, snapshot: String?, to: String?, final: String?, target: String?
        var proposed: UInt64?, token: UInt64?, force: Bool?, owner_answer: String?, data_at_path: Bool?, answered: Bool?, highest: String?
        var standby_in_place: Bool?
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        guard container.allKeys.count == 1, let key = container.allKeys.first else { throw VectorError("an event has exactly one key") }
        func fields() throws -> Fields { try container.decode(Fields.self, forKey: key) }
        func need<T>(_ value: T?, _ name: String) throws -> T {
            guard let value else { throw VectorError("\(key.stringValue) needs \(name)") }
            return value
        }
        switch key.stringValue {
        case "offer":
            let f = try fields()
            self = .offer(from: try need(f.from, "from"), owner: try need(f.owner, "owner"), epoch: try need(f.epoch, "epoch"))
        case "learn": self = .learn(try container.decode(String.self, forKey: key))
        case "prepare", "commit":
            let f = try fields()
            let (from, epoch, snapshot) = (try need(f.from, "from"), try need(f.epoch, "epoch"), try need(f.snapshot, "snapshot"))
            self = key.stringValue == "prepare" ? .prepare(from: from, epoch: epoch, snapshot: snapshot) : .commit(from: from, epoch: epoch, snapshot: snapshot)
        case "abort":
            let f = try fields()
            self = .abort(epoch: try need(f.epoch, "epoch"), standbyInPlace: try need(f.standby_in_place, "standby_in_place"))
        case "handed_over":
            let f = try fields()
            self = .handedOver(to: try need(f.to, "to"), epoch: try need(f.epoch, "epoch"), final: try need(f.final, "final"))
        case "roll_back":
            let f = try fields()
            self = .rollBack(target: try need(f.target, "target"), proposed: try need(f.proposed, "proposed"), token: f.token)
        case "take_back":
            let f = try fields()
            self = .takeBack(from: try need(f.from, "from"), final: try need(f.final, "final"), token: f.token)
        case "failover":
            let f = try fields()
            self = .failover(force: try need(f.force, "force"), ownerAnswer: f.owner_answer, dataAtPath: try need(f.data_at_path, "data_at_path"))
        case "reconcile":
            let f = try fields()
            self = .reconcile(answered: try need(f.answered, "answered"), highest: f.highest)
        case "lease_lost": self = .leaseLost
        case "lease_restored": self = .leaseRestored(try container.decode(String.self, forKey: key))
        case "elected": self = .elected(try container.decode(UInt64.self, forKey: key))
        default: throw VectorError("unknown event \(key.stringValue)")
        }
    }

    func apply(to state: inout VolumeOwnership) throws -> OwnershipDecision {
        switch self {
        case let .offer(from, owner, epoch): return state.admitOffer(from: from, owner: owner, epoch: epoch)
        case let .learn(record): return state.learn(try OwnershipCase.record(record))
        case let .prepare(from, epoch, snapshot): return state.prepareHandover(from: from, epoch: epoch, snapshot: snapshot)
        case let .commit(from, epoch, snapshot): return state.commitHandover(from: from, epoch: epoch, snapshot: snapshot)
        case let .abort(epoch, standbyInPlace): return state.abortHandover(epoch: epoch, standbyInPlace: standbyInPlace)
        case let .handedOver(to, epoch, final): return state.handedOver(to: to, epoch: epoch, final: final)
        case let .rollBack(target, proposed, token): return state.rollBackMigration(target: target, proposed: proposed, token: token)
        case let .takeBack(from, final, token): return state.takeBack(from: from, final: final, token: token)
        case let .failover(force, answer, dataAtPath):
            return state.failover(force: force, ownerAnswer: try answer.map(OwnershipCase.record), dataAtPath: dataAtPath)
        case let .reconcile(answered, highest): return state.reconcileAtStart(answered: answered, highest: try highest.map(OwnershipCase.record))
        case .leaseLost: return state.leaseLost()
        case let .leaseRestored(record): return state.leaseRestored(current: try OwnershipCase.record(record))
        case let .elected(token): return state.elected(token: token)
        }
    }
}
