import Foundation

/// What a reception in progress has made readable so far, for a reader that
/// builds from the same snapshot at the same time (a replica's first standby
/// copy, written while the chunks arrive instead of after the commit).
///
/// A blob is readable once its row is committed (the receiver's checkpoints),
/// and a tree also from the moment it was verified until it is appended to a
/// pack (`publish` / `appended`): trees are stored only after their contents,
/// so a reader walking from the root would otherwise wait for the end.
/// Chunks the receiver verified are also handed over raw (`offer` / `takeChunks`),
/// up to `chunkBudget` bytes held at once, so the reader neither waits for their
/// commit nor reads, decompresses and hashes them again; past the budget, or once
/// taken, a chunk is read from the store like any other.
/// Readers retry after each piece of news and fail when the reception ends
/// without what they wait for.
public final class BlobArrivals: @unchecked Sendable {
    private enum State {
        case open
        case finished
        case failed(RepositoryError)
    }

    private let condition = NSCondition()
    /// Bumped by every piece of news; `commits` only when rows are committed or the reception ends.
    private var generation = 0
    private var commits = 0
    private var state = State.open
    private var trees: [BlobID: [UInt8]] = [:]
    private var chunks: [BlobID: [UInt8]] = [:]
    private var chunkBytes = 0
    /// Raw chunk bytes held for the reader at most (a replica's agent stays within its memory bound);
    /// 0 until a reader that takes chunks asks for them (`handOverChunks`), so none are held for nobody.
    private var chunkBudget = 0

    public init() {}

    /// A reader that takes chunks is there: hold up to `budget` bytes of them for it. The oldest
    /// are kept and new ones dropped when it is full: the reader lags behind the receiver, in the
    /// same order, so what it needs next is what came first.
    public func handOverChunks(upTo budget: Int = 8 << 20) {
        condition.lock()
        chunkBudget = budget
        condition.unlock()
    }

    /// Bumped when rows are committed or the reception ends: a reader that
    /// found a blob missing from the store need not look again before it changes.
    public var commitCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return commits
    }

    /// A verified tree, raw: readable from here until it is in the store.
    public func publish(tree id: BlobID, raw: [UInt8]) {
        news { trees[id] = raw }
    }

    /// A chunk verified on receipt, raw: the reader may take it instead of reading it from the
    /// store. Dropped when the budget is full (the reader then reads it from the store).
    public func offer(chunk id: BlobID, raw: [UInt8]) {
        news {
            guard chunks[id] == nil, chunkBytes + raw.count <= chunkBudget else { return }
            chunks[id] = raw
            chunkBytes += raw.count
        }
    }

    /// The offered chunks among `ids`, each handed out once.
    public func takeChunks(_ ids: some Sequence<BlobID>) -> [BlobID: [UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        var taken: [BlobID: [UInt8]] = [:]
        guard !chunks.isEmpty else { return taken }
        for id in ids {
            if let raw = chunks.removeValue(forKey: id) {
                chunkBytes -= raw.count
                taken[id] = raw
            }
        }
        handedOver += taken.count
        return taken
    }

    private var handedOver = 0
    /// Chunks taken so far (the reader did not read them from the store).
    public var chunksHandedOver: Int {
        condition.lock()
        defer { condition.unlock() }
        return handedOver
    }

    /// The tree was appended to a pack: the next checkpoint makes it readable there.
    public func appended(tree id: BlobID) {
        condition.lock()
        trees[id] = nil
        condition.unlock()
    }

    /// Rows committed: blobs appended so far are readable from the store.
    public func checkpointed() { news(commit: true) {} }

    /// The reception committed its snapshot: everything is in the store.
    public func finish() { news(commit: true) { if case .open = state { state = .finished } } }

    /// The reception failed: waiting readers give up with `error`.
    public func fail(_ error: RepositoryError) { news(commit: true) { if case .open = state { state = .failed(error) } } }

    public func tree(_ id: BlobID) -> [UInt8]? {
        condition.lock()
        defer { condition.unlock() }
        return trees[id]
    }

    /// Calls `attempt` until it returns a value, waiting for news between
    /// tries. Throws when the reception failed, or ended without it.
    /// `committedOnly`: what is awaited is readable only from the store (chunks),
    /// so a published tree is no news.
    public func wait<T>(for what: @autoclosure () -> String, committedOnly: Bool = false, _ attempt: () throws -> T?) throws -> T {
        while true {
            condition.lock()
            let seen = committedOnly ? commits : generation
            let ended = state
            condition.unlock()
            if let value = try attempt() { return value }
            switch ended {
            case .failed(let error): throw error
            case .finished:
                throw RepositoryError(.missing, "\(what()) is not in the snapshot just received",
                                      hint: "the standby copy is built again from the store; run `barge verify` if this repeats")
            case .open: break
            }
            condition.lock()
            while (committedOnly ? commits : generation) == seen { condition.wait() }
            condition.unlock()
        }
    }

    private func news(commit: Bool = false, _ change: () -> Void) {
        condition.lock()
        change()
        generation += 1
        if commit { commits += 1 }
        condition.broadcast()
        condition.unlock()
    }
}
