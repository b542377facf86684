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

    private struct PendingTree {
        var id: BlobID
        var basis: BlobID?
    }

    /// Trees and chunks are asked for in depth-first order (trees ahead of
    /// the chunks), so they arrive in the order a standby copy written
    /// meanwhile needs them: breadth first, it waited seconds for directories.
    private var treeQueue = DepthFirstQueue<PendingTree>()
    /// Positions of trees asked for, for their subtrees' positions.
    private var positions: [BlobID: [Int32]] = [:]
    private var chunkQueue = DepthFirstQueue<ChunkRequest>()
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
            treeQueue.insert([PendingTree(id: root, basis: basisRoot)], at: [])
        } else {
            isComplete = true
        }
    }

    var hasQueuedWork: Bool { !treeQueue.isEmpty || !chunkQueue.isEmpty }

    /// Chunks queued beyond which trees wait (unless one comes first in
    /// depth-first order): bounds the queue.
    static let chunksAhead = 4096

    /// Chunks are asked for once this many blobs of the window are free (or
    /// none is in flight), so each message asks for many: refilled blob by
    /// blob, the owner answered one request at a time, on one thread, with a
    /// read transaction each. The rest of the window keeps the pipe full
    /// meanwhile. Trees are asked for at once: a standby copy written during
    /// the transfer walks them, one level after the other.
    static let refillBatch = WireLimits.maxChunksPerRequest

    /// The next requests to send.
    func nextRequests() -> [Message] {
        var messages: [Message] = []
        let chunksToo = outstanding == 0 || WireLimits.maxOutstandingBlobs - outstanding >= Self.refillBatch
        while outstanding < WireLimits.maxOutstandingBlobs {
            let room = WireLimits.maxOutstandingBlobs - outstanding
            if let tree = treeQueue.nextPosition,
               chunkQueue.count < Self.chunksAhead || chunkQueue.nextPosition.map({ tree.lexicographicallyPrecedes($0) }) ?? true {
                let positioned = treeQueue.popPositioned(min(room, WireLimits.maxTreesPerRequest, 64))
                for (item, position) in positioned {
                    basisTree.updateValue(item.basis, forKey: item.id)
                    positions[item.id] = position
                }
                outstanding += positioned.count
                messages.append(.wantTrees(positioned.map { item, _ in
                    // The old tree at the same path is the delta basis, unless a delta against it failed once.
                    TreeRequest(id: item.id.wire, basis: item.basis.flatMap { plainTrees.contains(item.id) ? nil : [$0.wire] } ?? [])
                }))
            } else if chunksToo, !chunkQueue.isEmpty {
                let batch = chunkQueue.pop(min(room, WireLimits.maxChunksPerRequest))
                for request in batch { requested[BlobID(request.id)] = request }
                outstanding += batch.count
                messages.append(.wantChunks(batch))
            } else {
                break
            }
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
        let position = positions.removeValue(forKey: verified.id) ?? []
        // The chunks of the files between two subdirectories share a position: the first file's.
        var run: [ChunkRequest] = [], runStart = 0
        for (index, entry) in tree.entries.enumerated() {
            if entry.kind == .directory {
                chunkQueue.insert(run, at: position + [Int32(runStart)])
                run = []
                runStart = index + 1
            }
            if entry.kind == .directory, let subtree = entry.subtree, !present.contains(subtree) {
                missing += 1
                waiters[subtree, default: []].append(verified.id)
                if wanted.insert(subtree).inserted {
                    let oldEntry = old?.entry(named: entry.name)
                    treeQueue.insert([PendingTree(id: subtree, basis: oldEntry?.kind == .directory ? oldEntry?.subtree : nil)],
                                     at: position + [Int32(index)])
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
                run.append(ChunkRequest(id: chunk.id.wire, length: UInt32(chunk.length), basis: basis.map(\.wire)))
            }
        }
        chunkQueue.insert(run, at: position + [Int32(runStart)])
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
        arrivals?.offer(chunk: verified.id, raw: verified.raw)
    }

    /// A delta that failed to verify is asked for again, whole (once).
    func retryWithoutBasis(_ id: BlobID) -> Bool {
        guard let request = requested.removeValue(forKey: id), !request.basis.isEmpty,
              retriedPlain.insert(id).inserted else { return false }
        outstanding -= 1
        chunkQueue.insert([ChunkRequest(id: request.id, length: request.length, basis: [])], at: [])
        return true
    }

    /// A tree whose delta failed to verify is asked for again, whole (once).
    func retryTreeWithoutBasis(_ id: BlobID) -> Bool {
        guard wanted.contains(id), let basis = basisTree.removeValue(forKey: id), basis != nil,
              plainTrees.insert(id).inserted else { return false }
        outstanding -= 1
        treeQueue.insert([PendingTree(id: id, basis: basis)], at: positions.removeValue(forKey: id) ?? [])
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
