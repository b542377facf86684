import GRDB

/// Migrations are frozen once shipped: add a new one, never edit an old one.
enum IndexSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-store") { db in
            try db.execute(sql: """
                CREATE TABLE volume (
                    name TEXT PRIMARY KEY,
                    path TEXT NOT NULL,
                    chunk_average INTEGER NOT NULL,
                    cross_mounts INTEGER NOT NULL DEFAULT 0,
                    created_ns INTEGER NOT NULL
                );
                -- size: the committed length; bytes past it are debris of a crash.
                CREATE TABLE pack (
                    id INTEGER PRIMARY KEY,
                    size INTEGER NOT NULL CHECK (size >= 0)
                );
                -- WITHOUT ROWID: the 32-byte hash is the key; no second B-tree.
                CREATE TABLE blob (
                    id BLOB PRIMARY KEY CHECK (length(id) = 32),
                    kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
                    pack INTEGER NOT NULL REFERENCES pack(id),
                    offset INTEGER NOT NULL CHECK (offset >= 0),
                    stored_length INTEGER NOT NULL CHECK (stored_length >= 0),
                    raw_length INTEGER NOT NULL CHECK (raw_length >= 0),
                    compression INTEGER NOT NULL CHECK (compression IN (0, 1))
                ) WITHOUT ROWID;
                -- No foreign key to volume: removing a volume's config keeps its history.
                CREATE TABLE snapshot (
                    id BLOB PRIMARY KEY CHECK (length(id) = 32),
                    volume TEXT NOT NULL,
                    parent BLOB,
                    root BLOB NOT NULL,
                    time_ns INTEGER NOT NULL,
                    epoch INTEGER NOT NULL,
                    origin TEXT NOT NULL,
                    state TEXT NOT NULL,
                    files INTEGER NOT NULL,
                    directories INTEGER NOT NULL,
                    bytes_total INTEGER NOT NULL,
                    bytes_added INTEGER NOT NULL,
                    skipped INTEGER NOT NULL,
                    record BLOB NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX snapshot_by_volume ON snapshot (volume, time_ns);
                """)
        }
        migrator.registerMigration("v2-doomed-packs") { db in
            // Packs gc has dropped from the index and is about to unlink: a gc
            // killed in between finishes the job next time, and only these
            // files are ever deleted without a row.
            try db.execute(sql: "CREATE TABLE doomed_pack (id INTEGER PRIMARY KEY)")
        }
        migrator.registerMigration("v3-replication") { db in
            try db.execute(sql: """
                -- Who may write a volume, fenced by epoch; persisted on every node.
                CREATE TABLE ownership (
                    volume TEXT PRIMARY KEY,
                    owner TEXT NOT NULL,
                    epoch INTEGER NOT NULL CHECK (epoch >= 1),
                    updated_ns INTEGER NOT NULL
                );
                -- On the owner: the newest snapshot each replica has committed.
                CREATE TABLE replica_ack (
                    volume TEXT NOT NULL,
                    peer TEXT NOT NULL,
                    snapshot BLOB NOT NULL CHECK (length(snapshot) = 32),
                    snapshot_time_ns INTEGER NOT NULL,
                    acked_ns INTEGER NOT NULL,
                    bytes_sent INTEGER NOT NULL,
                    PRIMARY KEY (volume, peer)
                ) WITHOUT ROWID;
                -- On a replica: which snapshot the standby copy equals; `updating`
                -- is set while it changes, so an interrupted update is redone.
                CREATE TABLE standby (
                    volume TEXT PRIMARY KEY,
                    path TEXT NOT NULL,
                    snapshot BLOB,
                    updating BLOB,
                    updated_ns INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v4-dirty-packs") { db in
            // Packs holding records whose rows gc removed ahead of the pack
            // itself (dead trees, see GarbageCollector): the next gc rewrites
            // them whatever their share of dead bytes, so no space leaks.
            try db.execute(sql: "CREATE TABLE dirty_pack (id INTEGER PRIMARY KEY)")
        }
        migrator.registerMigration("v5-rollbacks") { db in
            // A roll-back of a live volume patching it in place: while a row
            // is here the volume may be half rolled back, and its container is
            // not started until the roll-back is run again to the end.
            try db.execute(sql: """
                CREATE TABLE rollback (
                    volume TEXT PRIMARY KEY,
                    target BLOB NOT NULL CHECK (length(target) = 32),
                    pre_restore BLOB NOT NULL CHECK (length(pre_restore) = 32),
                    started_ns INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v6-lz4") { db in
            // Store-wide settings: `compression`, the codec of new blobs (absent: zstd, what
            // stores made before lz4 write). SQLite cannot alter a CHECK, so `blob` is rebuilt
            // to admit lz4 (2); GRDB runs this with foreign keys deferred and checks them after.
            try db.execute(sql: """
                CREATE TABLE setting (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE blob_v6 (
                    id BLOB PRIMARY KEY CHECK (length(id) = 32),
                    kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
                    pack INTEGER NOT NULL REFERENCES pack(id),
                    offset INTEGER NOT NULL CHECK (offset >= 0),
                    stored_length INTEGER NOT NULL CHECK (stored_length >= 0),
                    raw_length INTEGER NOT NULL CHECK (raw_length >= 0),
                    compression INTEGER NOT NULL CHECK (compression IN (0, 1, 2))
                ) WITHOUT ROWID;
                INSERT INTO blob_v6 SELECT id, kind, pack, offset, stored_length, raw_length, compression FROM blob;
                DROP TABLE blob;
                ALTER TABLE blob_v6 RENAME TO blob;
                """)
        }
        return migrator
    }
}
