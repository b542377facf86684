import Foundation
import Repository
import S3

/// An off-site copy in a bucket, opened with its key: reads and writes sealed objects, the
/// catalog register and the pack indexes. Knows nothing of local stores.
public final class OffsiteRepository: Sendable {
    public let target: OffsiteTarget
    let client: S3Client
    let key: OffsiteKey
    /// Random id of this copy, bound into every object but the config.
    let repository: String
    let throttle: Throttle?
    /// Where this node remembers the newest catalog generation it saw (nil on a bare machine).
    let memory: String?

    struct Config: Codable {
        var format: Int
        var repository: String
        var created: Date
    }

    static let maximumSmallObject = 256 << 20

    private init(target: OffsiteTarget, client: S3Client, key: OffsiteKey, repository: String, memory: String?) {
        self.target = target
        self.memory = memory
        self.client = client
        self.key = key
        self.repository = repository
        self.throttle = target.bandwidthLimit.map { Throttle(bytesPerSecond: $0) }
    }

    /// Opens an initialized copy: the config object must open with this key. With `memory`
    /// (a directory of this node's), a catalog older than one seen before is refused.
    public static func open(_ target: OffsiteTarget, memory: String? = nil) async throws(OffsiteError) -> OffsiteRepository {
        let (client, key) = try connect(target)
        let sealed: [UInt8]?
        do { sealed = try await client.get(target.prefix + ObjectName.config, maxLength: 64 << 10) } catch {
            throw OffsiteError.storage(error, while: "reading \(target.describe) config")
        }
        guard let sealed else {
            throw OffsiteError(.notInitialized, "\(target.describe) holds no barge copy (no \(target.prefix)config object)",
                               hint: "run `barge offsite init \(target.name)` once, or check bucket and prefix")
        }
        let plain: [UInt8]
        do { plain = try SealedObject.open(sealed, name: ObjectName.config, repository: "", key: key) } catch {
            throw OffsiteError(.badKey, "the key \(key.fingerprint) (\(target.keyFile)) does not open \(target.describe): wrong key file, or its config object was changed",
                               hint: "use the key file the copy was made with; without it nothing there can be read")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let config = try? decoder.decode(Config.self, from: Data(plain)), config.format == 1,
              config.repository.utf8.count == 32, OffsiteKey.hexBytes(config.repository) != nil else {
            throw OffsiteError(.malformed, "\(target.describe): the config object is not of format 1",
                               hint: "use the barge release that made this copy")
        }
        return OffsiteRepository(target: target, client: client, key: key, repository: config.repository, memory: memory)
    }

    /// Creates the bucket if needed and the copy's config; opens an existing copy instead of replacing it.
    public static func initialize(_ target: OffsiteTarget) async throws(OffsiteError) -> (OffsiteRepository, created: Bool) {
        let (client, key) = try connect(target)
        do { try await client.createBucket() } catch {
            throw OffsiteError.storage(error, while: "creating bucket \(target.bucket)")
        }
        let id = String(ObjectName.newPackID().prefix(32))
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let config = try! encoder.encode(Config(format: 1, repository: id, created: Date()))
        let sealed = try SealedObject.seal(Array(config), name: ObjectName.config, repository: "", key: key)
        let outcome: PutOutcome
        do { outcome = try await client.put(target.prefix + ObjectName.config, sealed, ifAbsent: true) } catch {
            throw OffsiteError.storage(error, while: "writing \(target.describe) config")
        }
        if case .stored = outcome { return (OffsiteRepository(target: target, client: client, key: key, repository: id, memory: nil), true) }
        return (try await open(target), false)
    }

    private static func connect(_ target: OffsiteTarget) throws(OffsiteError) -> (S3Client, OffsiteKey) {
        let key = try OffsiteKey.load(path: target.keyFile)
        do {
            let client = try S3Client(endpoint: S3Endpoint(target.endpoint), region: target.region,
                                      bucket: target.bucket, credentials: target.credentials,
                                      retry: retryPolicy(target))
            return (client, key)
        } catch {
            throw OffsiteError(.storage, "offsite target \(target.name): \(error.message)", hint: "fix the [[offsite]] table", underlying: error)
        }
    }

    /// The target's idle timeout, and each retry told in words to whoever watches the target.
    static func retryPolicy(_ target: OffsiteTarget) -> S3Client.RetryPolicy {
        var policy = S3Client.RetryPolicy(idleTimeout: target.idleTimeout)
        if let tell = target.onRetry {
            policy.onRetry = { failure, next, attempts, delay in
                let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                tell("\(failure.message); attempt \(next) of \(attempts) in \(String(format: "%.1f", seconds)) s")
            }
        }
        return policy
    }

    // MARK: objects

    func get(_ name: String, maxLength: Int) async throws(OffsiteError) -> [UInt8]? {
        try await getData(name, maxLength: maxLength).map { Array($0) }
    }

    /// `get` without the copy into an array (packs).
    func getData(_ name: String, maxLength: Int) async throws(OffsiteError) -> Data? {
        let sealed: [UInt8]?
        do { sealed = try await client.get(target.prefix + name, maxLength: maxLength + SealedObject.overhead) } catch {
            throw OffsiteError.storage(error, while: "reading \(name)")
        }
        guard let sealed else { return nil }
        await throttle?.spend(sealed.count)
        return try SealedObject.openData(sealed, name: name, repository: repository, key: key)
    }

    /// Seals and stores a write-once object. Returns the sealed size; `nil` if an object of
    /// that name was already there (and this call did not put it).
    func put(_ name: String, _ plaintext: [UInt8]) async throws(OffsiteError) -> Int? {
        let sealed = try SealedObject.seal(plaintext, name: name, repository: repository, key: key)
        return try await putSealed(name, sealed) ? sealed.count : nil
    }

    func putSealed(_ name: String, _ sealed: [UInt8]) async throws(OffsiteError) -> Bool {
        await throttle?.spend(sealed.count)
        let outcome: PutOutcome
        do {
            if sealed.count > target.partSize {
                outcome = try await client.putMultipart(target.prefix + name, sealed, partSize: target.partSize, ifAbsent: true)
            } else {
                outcome = try await client.put(target.prefix + name, sealed, ifAbsent: true)
            }
        } catch {
            throw OffsiteError.storage(error, while: "storing \(name)")
        }
        switch outcome {
        case .stored: return true
        // A retried put whose first attempt landed: the random name is ours alone.
        case .alreadyExists(let afterRetry): return afterRetry && !name.hasPrefix(ObjectName.catalogPrefix)
        }
    }

    func list(_ prefix: String) async throws(OffsiteError) -> [S3Object] {
        do {
            return try await client.list(prefix: target.prefix + prefix).map {
                S3Object(key: String($0.key.dropFirst(target.prefix.count)), size: $0.size)
            }
        } catch {
            throw OffsiteError.storage(error, while: "listing \(target.prefix + prefix)")
        }
    }

    func delete(_ name: String) async throws(OffsiteError) {
        do { try await client.delete(target.prefix + name) } catch {
            throw OffsiteError.storage(error, while: "deleting \(name)")
        }
    }

    // MARK: catalog

    /// The newest catalog generation, or an empty one at generation 0 for a new copy.
    func latestCatalog() async throws(OffsiteError) -> Catalog {
        let generations = try await list(ObjectName.catalogPrefix).compactMap { ObjectName.generation(of: $0.key[...]) }
        let remembered = rememberedGeneration()
        if generations.isEmpty && remembered == 0 { return .empty }
        guard let newest = generations.max(), newest >= remembered else {
            throw OffsiteError(.rolledBack, "the newest catalog of \(target.describe) is generation \(generations.max() ?? 0), but this node saw generation \(remembered): catalogs were deleted or the bucket was rolled back",
                               hint: "nothing was changed; find out who deleted objects in the bucket. If the roll-back is intended, remove \(memory ?? "")/generation")
        }
        guard let plain = try await get(ObjectName.catalog(newest), maxLength: Self.maximumSmallObject) else {
            throw OffsiteError(.contention, "catalog generation \(newest) vanished while being read",
                               hint: "another node is collecting garbage on the target; run the command again")
        }
        let catalog = try Catalog.decode(plain, generation: newest)
        remember(newest)
        return catalog
    }

    /// All catalog generations in the bucket, oldest first.
    func catalogGenerations() async throws(OffsiteError) -> [UInt64] {
        try await list(ObjectName.catalogPrefix).compactMap { ObjectName.generation(of: $0.key[...]) }.sorted()
    }

    private func rememberedGeneration() -> UInt64 {
        guard let memory, let data = FileManager.default.contents(atPath: memory + "/generation") else { return 0 }
        return UInt64(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    private func remember(_ generation: UInt64) {
        guard let memory, generation > rememberedGeneration() else { return }
        try? FileManager.default.createDirectory(atPath: memory, withIntermediateDirectories: true)
        let path = memory + "/generation"
        if FileManager.default.createFile(atPath: path + ".tmp", contents: Data("\(generation)\n".utf8)) {
            rename(path + ".tmp", path)
        }
    }

    /// Writes `catalog` as its generation. False when another writer took that generation first.
    func commit(_ catalog: Catalog) async throws(OffsiteError) -> Bool {
        guard try await put(ObjectName.catalog(catalog.generation), catalog.encoded()) != nil else { return false }
        remember(catalog.generation)
        return true
    }

    /// The listed snapshots of the newest catalog.
    public func snapshots(volume: String?) async throws(OffsiteError) -> [StoredSnapshot] {
        try await latestCatalog().snapshots.filter { volume == nil || $0.record.volume == volume }
            .sorted { $0.record.timeNanoseconds < $1.record.timeNanoseconds }
    }

    public var keyFingerprint: String { key.fingerprint }
}
