import Foundation
import GRDB

/// A roll-back under way on a live volume (see `SnapshotEngine.rollBack`).
public struct RollbackMark: Sendable, Equatable {
    public let volume: String
    public let target: BlobID
    public let preRestore: BlobID
    public let startedNanoseconds: Int64

    public init(volume: String, target: BlobID, preRestore: BlobID, startedNanoseconds: Int64) {
        self.volume = volume
        self.target = target
        self.preRestore = preRestore
        self.startedNanoseconds = startedNanoseconds
    }
}

extension Index {
    public func rollbackMark(of volume: String) throws -> RollbackMark? {
        try run("reading the roll-back mark") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT target, pre_restore, started_ns FROM rollback WHERE volume = ?", arguments: [volume])
                    .flatMap { row in
                        guard let target = BlobID(bytes: row[0] as Data), let pre = BlobID(bytes: row[1] as Data) else { return nil }
                        return RollbackMark(volume: volume, target: target, preRestore: pre, startedNanoseconds: row[2])
                    }
            }
        }
    }

    public func setRollbackMark(_ mark: RollbackMark) throws {
        try run("recording the roll-back mark") {
            try pool.write { db in
                try db.execute(sql: """
                    INSERT INTO rollback (volume, target, pre_restore, started_ns) VALUES (?, ?, ?, ?)
                    ON CONFLICT (volume) DO UPDATE SET target = excluded.target, pre_restore = excluded.pre_restore,
                        started_ns = excluded.started_ns
                    """, arguments: [mark.volume, mark.target.data, mark.preRestore.data, mark.startedNanoseconds])
            }
        }
    }

    public func clearRollbackMark(of volume: String) throws {
        try run("clearing the roll-back mark") {
            try pool.write { db in try db.execute(sql: "DELETE FROM rollback WHERE volume = ?", arguments: [volume]) }
        }
    }
}
