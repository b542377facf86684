import Foundation
import GRDB

/// A volume's owner and epoch as this node knows them.
public struct Ownership: Sendable, Equatable {
    public let volume: String
    public let owner: String
    public let epoch: UInt64
    public init(volume: String, owner: String, epoch: UInt64) {
        self.volume = volume
        self.owner = owner
        self.epoch = epoch
    }
}

/// The newest snapshot a replica acknowledged.
public struct ReplicaAck: Sendable, Equatable {
    public let volume: String
    public let peer: String
    public let snapshot: BlobID
    public let snapshotTimeNanoseconds: Int64
    public let ackedNanoseconds: Int64
    public let bytesSent: Int
    public init(volume: String, peer: String, snapshot: BlobID, snapshotTimeNanoseconds: Int64, ackedNanoseconds: Int64, bytesSent: Int) {
        self.volume = volume
        self.peer = peer
        self.snapshot = snapshot
        self.snapshotTimeNanoseconds = snapshotTimeNanoseconds
        self.ackedNanoseconds = ackedNanoseconds
        self.bytesSent = bytesSent
    }
}

public struct StandbyState: Sendable, Equatable {
    public let volume: String
    public let path: String
    /// The snapshot the standby equals; nil before the first update.
    public let snapshot: BlobID?
    /// Set while an update runs: the copy is then a mix and must be redone.
    public let updating: BlobID?
}

extension Index {
    public func snapshot(_ id: BlobID) throws -> StoredSnapshot? {
        try run("reading a snapshot") {
            try pool.read { db in
                guard let data = try Data.fetchOne(db, sql: "SELECT record FROM snapshot WHERE id = ?", arguments: [id.data]) else { return nil }
                let record = try SnapshotRecord.decode([UInt8](data))
                guard record.id == id else {
                    throw RepositoryError(.corrupt, "index: snapshot row \(id.short) does not match its record", hint: Self.repairHint)
                }
                return StoredSnapshot(id: id, record: record)
            }
        }
    }

    public func ownership(of volume: String) throws -> Ownership? {
        try run("reading ownership") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT owner, epoch FROM ownership WHERE volume = ?", arguments: [volume]).map {
                    Ownership(volume: volume, owner: $0[0], epoch: UInt64($0[1] as Int64))
                }
            }
        }
    }

    /// Records ownership; refuses to lower the epoch, and returns what is stored afterwards.
    @discardableResult
    public func raiseOwnership(_ ownership: Ownership) throws -> Ownership {
        try run("recording ownership") {
            try pool.write { db in
                let current = try Row.fetchOne(db, sql: "SELECT owner, epoch FROM ownership WHERE volume = ?", arguments: [ownership.volume])
                if let current, UInt64(current[1] as Int64) > ownership.epoch
                    || (UInt64(current[1] as Int64) == ownership.epoch && (current[0] as String) != ownership.owner) {
                    return Ownership(volume: ownership.volume, owner: current[0], epoch: UInt64(current[1] as Int64))
                }
                try db.execute(sql: """
                    INSERT INTO ownership (volume, owner, epoch, updated_ns) VALUES (?, ?, ?, ?)
                    ON CONFLICT (volume) DO UPDATE SET owner = excluded.owner, epoch = excluded.epoch, updated_ns = excluded.updated_ns
                    """, arguments: [ownership.volume, ownership.owner, Int64(ownership.epoch), Clock.nowNanoseconds()])
                return ownership
            }
        }
    }

    public func recordAck(_ ack: ReplicaAck) throws {
        try run("recording a replica's acknowledgement") {
            try pool.write { db in
                try db.execute(sql: """
                    INSERT INTO replica_ack (volume, peer, snapshot, snapshot_time_ns, acked_ns, bytes_sent) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (volume, peer) DO UPDATE SET snapshot = excluded.snapshot, snapshot_time_ns = excluded.snapshot_time_ns,
                        acked_ns = excluded.acked_ns, bytes_sent = excluded.bytes_sent
                    """, arguments: [ack.volume, ack.peer, ack.snapshot.data, ack.snapshotTimeNanoseconds, ack.ackedNanoseconds, ack.bytesSent])
            }
        }
    }

    public func acks(volume: String) throws -> [ReplicaAck] {
        try run("reading acknowledgements") {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT peer, snapshot, snapshot_time_ns, acked_ns, bytes_sent FROM replica_ack WHERE volume = ? ORDER BY peer",
                                 arguments: [volume]).compactMap { row in
                    guard let id = BlobID(bytes: row[1] as Data) else { return nil }
                    return ReplicaAck(volume: volume, peer: row[0], snapshot: id, snapshotTimeNanoseconds: row[2],
                                      ackedNanoseconds: row[3], bytesSent: row[4])
                }
            }
        }
    }

    public func standby(of volume: String) throws -> StandbyState? {
        try run("reading the standby state") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT path, snapshot, updating FROM standby WHERE volume = ?", arguments: [volume]).map {
                    StandbyState(volume: volume, path: $0[0], snapshot: ($0[1] as Data?).flatMap { BlobID(bytes: $0) },
                                 updating: ($0[2] as Data?).flatMap { BlobID(bytes: $0) })
                }
            }
        }
    }

    public func setStandby(volume: String, path: String, snapshot: BlobID?, updating: BlobID?) throws {
        try run("recording the standby state") {
            try pool.write { db in
                try db.execute(sql: """
                    INSERT INTO standby (volume, path, snapshot, updating, updated_ns) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (volume) DO UPDATE SET path = excluded.path, snapshot = excluded.snapshot,
                        updating = excluded.updating, updated_ns = excluded.updated_ns
                    """, arguments: [volume, path, snapshot?.data, updating?.data, Clock.nowNanoseconds()])
            }
        }
    }
}
