import Repository
import Snapshots
import Wire

/// The receiver's bookkeeping for one snapshot: which trees and chunks to ask
/// for, and which received trees still wait for their contents.
///
/// A tree is appended to the store only once everything under it is stored
/// (post-order), so a tree present in the index always means a complete
/// subtree: an interrupted transfer resumes by skipping exactly those.
final class TransferPlan {
    private struct WaitingTree {
        var stored: BlobDecoder.Verified
        var missing: Int
    }

    private let writer: BlobWriter
    private let decompressor = Decompressor()
    private let store: Store
    private let root: BlobID
    private(set) var isComplete = false

    private var treeQueue: [(id: BlobID, basis: BlobID?)] = []
    private var chunkQueue: [ChunkRequest] = []
    /// Requested or queued, not yet stored: never asked for twice.
    private var wanted: Set<BlobID> = []
    /// For each awaited blob, the waiting trees (once per reference).
    private var waiters: [BlobID: [BlobID]] = [:]
    private var waiting: [BlobID: WaitingTree] = [:]
    /// Old tree at the same path, for choosing delta bases.
    private var basisTree: [BlobID: BlobID?] = [:]
    /// Chunk lengths and bases of requests in flight (for verification and signatures).
    private(set) var requested: [BlobID: ChunkRequest] = [:]
    /// Requests whose delta failed once: asked again without a basis.
    private var retriedPlain: Set<BlobID> = []
    private var plainTrees: Set<BlobID> = []
    private(set) var outstanding = 0

    /// Told about verified trees, for a standby copy built while they arrive.
    private let arrivals: BlobArrivals?

    init(writer: BlobWriter, root: BlobID, basisRoot: BlobID?, arrivals: BlobArrivals? = nil) throws {
        self.writer = writer
        self.arrivals = arrivals
        self.store = writer.store
        self.root = root
        if try writer.known([root]).isEmpty {
            wanted.insert(root)
            treeQueue.append((root, basisRoot))
        } else {
            isComplete = true
        }
    }

    var hasQueuedWork: Bool { !treeQueue.isEmpty || !chunkQueue.isEmpty }

    /// The next requests to send while fewer than the window are in flight.
    /// Trees wait while many chunks are queued, which bounds the queue.
    func nextRequests() -> [Message] {
        var messages: [Message] = []
        while outstanding < WireLimits.maxOutstandingBlobs {
            let room = WireLimits.maxOutstandingBlobs - outstanding
            if !chunkQueue.isEmpty {
                let batch = Array(chunkQueue.prefix(min(room, WireLimits.maxChunksPerRequest)))
                chunkQueue.removeFirst(batch.count)
                for request in batch { requested[BlobID(request.id)] = request }
                outstanding += batch.count
                messages.append(.wantChunks(batch))
            } else if !treeQueue.isEmpty {
                let batch = Array(treeQueue.prefix(min(room, WireLimits.maxTreesPerRequest, 64)))
                treeQueue.removeFirst(batch.count)
                for item in batch { basisTree.updateValue(item.basis, forKey: item.id) }
                outstanding += batch.count
                messages.append(.wantTrees(batch.map { item in
                    // The old tree at the same path is the delta basis, unless a delta against it failed once.
                    TreeRequest(id: item.id.wire, basis: item.basis.flatMap { plainTrees.contains(item.id) ? nil : [$0.wire] } ?? [])
                }))
            } else {
                break
            }
            if chunkQueue.count > 4096 { break }
        }
        return messages
    }

    /// A verified tree arrived: stores it now if complete, else plans its contents.
    func received(tree verified: BlobDecoder.Verified) throws {
        guard wanted.contains(verified.id), let basis = basisTree.removeValue(forKey: verified.id) else {
            throw ReplicationError.fail(.unexpectedMessage, "tree \(verified.id.short) was not asked for")
        }
        outstanding -= 1
        let tree: Tree
        do { tree = try Tree.decode(verified.raw) } catch {
            throw ReplicationError.fail(.corruptData, "tree \(verified.id.short) does not decode: \(error)")
        }
        arrivals?.publish(tree: verified.id, raw: verified.raw)
        let old = try basis.map { try Tree.decode(try store.read($0, kind: .tree, using: decompressor)) }
        var references: [BlobID] = []
        for entry in tree.entries {
            if let subtree = entry.subtree { references.append(subtree) }
            references.append(contentsOf: entry.chunks.map(\.id))
        }
        let present = try writer.known(Array(Set(references)))
        var missing = 0
        for entry in tree.entries {
            if entry.kind == .directory, let subtree = entry.subtree, !present.contains(subtree) {
                missing += 1
                waiters[subtree, default: []].append(verified.id)
                if wanted.insert(subtree).inserted {
                    let oldEntry = old?.entry(named: entry.name)
                    treeQueue.append((subtree, oldEntry?.kind == .directory ? oldEntry?.subtree : nil))
                }
            }
            guard entry.kind == .file else { continue }
            let oldChunks = old?.entry(named: entry.name).flatMap { $0.kind == .file ? $0.chunks : nil } ?? []
            let oldOffsets = BasisFinder.offsets(oldChunks)
            var offset = 0
            for chunk in entry.chunks {
                defer { offset += chunk.length }
                guard !present.contains(chunk.id) else { continue }
                missing += 1
                waiters[chunk.id, default: []].append(verified.id)
                guard wanted.insert(chunk.id).inserted else { continue }
                let basis = BasisFinder.basis(offset: offset, length: chunk.length, old: oldChunks, oldOffsets: oldOffsets)
                chunkQueue.append(ChunkRequest(id: chunk.id.wire, length: UInt32(chunk.length), basis: basis.map(\.wire)))
            }
        }
        if missing == 0 {
            try store(verified, kind: .tree)
        } else {
            waiting[verified.id] = WaitingTree(stored: verified, missing: missing)
        }
    }

    /// A verified chunk arrived: store it, then every tree it completes.
    func received(chunk verified: BlobDecoder.Verified) throws {
        guard requested.removeValue(forKey: verified.id) != nil else {
            throw ReplicationError.fail(.unexpectedMessage, "chunk \(verified.id.short) was not asked for")
        }
        outstanding -= 1
        try store(verified, kind: .chunk)
    }

    /// A delta that failed to verify is asked for again, whole (once).
    func retryWithoutBasis(_ id: BlobID) -> Bool {
        guard let request = requested.removeValue(forKey: id), !request.basis.isEmpty,
              retriedPlain.insert(id).inserted else { return false }
        outstanding -= 1
        chunkQueue.append(ChunkRequest(id: request.id, length: request.length, basis: []))
        return true
    }

    /// A tree whose delta failed to verify is asked for again, whole (once).
    func retryTreeWithoutBasis(_ id: BlobID) -> Bool {
        guard wanted.contains(id), let basis = basisTree.removeValue(forKey: id), basis != nil,
              plainTrees.insert(id).inserted else { return false }
        outstanding -= 1
        treeQueue.append((id, basis))
        return true
    }

    private func store(_ verified: BlobDecoder.Verified, kind: BlobKind) throws {
        try verified.stored.withUnsafeBytes { payload in
            try writer.append(id: verified.id, kind: kind, rawLength: verified.raw.count,
                              compression: verified.compression, payload: payload)
        }
        if kind == .tree { arrivals?.appended(tree: verified.id) }
        wanted.remove(verified.id)
        if verified.id == root { isComplete = true }
        for parent in waiters.removeValue(forKey: verified.id) ?? [] {
            guard var entry = waiting[parent] else { continue }
            entry.missing -= 1
            if entry.missing == 0 {
                waiting[parent] = nil
                try store(entry.stored, kind: .tree)
            } else {
                waiting[parent] = entry
            }
        }
    }
}
