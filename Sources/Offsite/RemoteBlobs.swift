import Foundation
import Repository
import S3

/// Which blobs the copy holds and in which pack, from every pack index in the bucket.
struct RemoteBlobs: Sendable {
    struct Place: Sendable {
        let pack: String
        let entry: Int
    }

    private(set) var packs: [String: PackIndex] = [:]
    private(set) var places: [BlobID: Place] = [:]

    func contains(_ id: BlobID) -> Bool { places[id] != nil }
    func place(of id: BlobID) -> Place? { places[id] }
    func entry(_ place: Place) -> PackIndex.Entry { packs[place.pack]!.entries[place.entry] }

    mutating func add(pack: String, index: PackIndex) {
        packs[pack] = index
        for (number, entry) in index.entries.enumerated() where places[entry.id] == nil {
            places[entry.id] = Place(pack: pack, entry: number)
        }
    }
}

extension OffsiteRepository {
    /// Reads every pack index. With a cache directory, indexes fetched before are read from
    /// there (names are write-once, so a cached copy of a listed name is still right; it is
    /// opened and checked like a fresh one), and cached names no longer listed are dropped.
    func loadBlobs(cache: String?) async throws(OffsiteError) -> RemoteBlobs {
        let listed = try await list(ObjectName.indexPrefix)
        var ids: [String] = []
        for object in listed {
            if let id = ObjectName.packID(of: object.key[...], prefix: ObjectName.indexPrefix) { ids.append(id) }
        }
        let cacheDirectory = cache.map { $0 + "/index" }
        if let cacheDirectory {
            try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
            let wanted = Set(ids)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: cacheDirectory)) ?? [] where !wanted.contains(name) {
                try? FileManager.default.removeItem(atPath: cacheDirectory + "/" + name)
            }
        }
        var blobs = RemoteBlobs()
        var next = 0
        let width = target.concurrency * 4
        do {
            try await withThrowingTaskGroup(of: (String, PackIndex).self) { group in
                func start() {
                    guard next < ids.count else { return }
                    let id = ids[next]
                    next += 1
                    group.addTask { (id, try await self.loadIndex(id, cacheDirectory: cacheDirectory)) }
                }
                for _ in 0..<width { start() }
                while let (id, index) = try await group.next() {
                    blobs.add(pack: id, index: index)
                    start()
                }
            }
        } catch let error as OffsiteError {
            throw error
        } catch {
            throw OffsiteError(.local, "reading pack indexes failed", underlying: error)
        }
        return blobs
    }

    private func loadIndex(_ id: String, cacheDirectory: String?) async throws(OffsiteError) -> PackIndex {
        let name = ObjectName.index(id)
        if let cacheDirectory, let cached = FileManager.default.contents(atPath: cacheDirectory + "/" + id),
           let plain = try? SealedObject.open(Array(cached), name: name, repository: repository, key: key) {
            return try PackIndex.decode(plain, what: name)
        }
        let sealed: [UInt8]?
        do { sealed = try await client.get(target.prefix + name, maxLength: Self.maximumSmallObject) } catch {
            throw OffsiteError.storage(error, while: "reading \(name)")
        }
        guard let sealed else {
            throw OffsiteError(.contention, "\(name) vanished while being read", hint: "gc may be running on the target; run the command again")
        }
        let index = try PackIndex.decode(try SealedObject.open(sealed, name: name, repository: repository, key: key), what: name)
        if let cacheDirectory {
            let path = cacheDirectory + "/" + id
            _ = FileManager.default.createFile(atPath: path + ".tmp", contents: Data(sealed))
            rename(path + ".tmp", path)
        }
        return index
    }
}

extension RemoteBlobs {
    /// Only packs whose data object is listed: after a gc an index may outlive its pack for a moment.
    func keepingStoredPacks(_ data: [S3Object]) -> RemoteBlobs {
        let stored = Set(data.compactMap { ObjectName.packID(of: $0.key[...], prefix: ObjectName.dataPrefix) })
        var kept = RemoteBlobs()
        for (id, index) in packs where stored.contains(id) { kept.add(pack: id, index: index) }
        return kept
    }
}
