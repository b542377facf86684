import GRDB

/// Store-wide settings, one row each in `setting`.
extension Index {
    /// The codec new blobs are written with, when one was recorded (stores made before
    /// lz4 have none, and write zstd).
    public func recordedCompression() throws -> Compression? {
        try run("reading the store's compression") {
            try pool.read { db in
                guard let name = try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'compression'") else { return nil }
                guard let codec = Compression(name: name), codec != .none else {
                    throw RepositoryError(.corrupt, "the index names an unknown compression '\(name)'", hint: Self.repairHint)
                }
                return codec
            }
        }
    }

    public func recordCompression(_ codec: Compression) throws {
        precondition(codec != .none, "a store's codec compresses")
        try run("recording the store's compression") {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO setting (key, value) VALUES ('compression', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                               arguments: [codec.name])
            }
        }
    }
}
