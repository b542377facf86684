import Foundation

/// What lets gc run in the same process as snapshots and receptions (the
/// agent) without ever deleting a blob a writer is about to reference.
///
/// - Every `BlobWriter` registers for its lifetime. `beginCollection` waits
///   until the writers that started before it have ended: whatever they looked
///   up before gc was active is committed (and marked) or abandoned by then.
/// - While gc is active, every id a writer learns is stored (`noteUsed`,
///   called before the index is asked) is remembered; gc treats those as live
///   and decides each pack's deletion under the gate, so a writer's lookup
///   either precedes the decision (gc keeps the blob) or follows its commit
///   (the writer finds no row and stores the blob again).
/// - Packs are claimed: by a writer from the moment it picks one until its
///   rows are committed, by gc while it may rewrite or delete it. A claimed
///   pack is never someone else's.
/// See "gc while the agent runs" in docs/design.md.
public final class CollectionGate: @unchecked Sendable {
    /// Guards `collecting`, `touched` and `claimed`. Recursive: gc's commit runs
    /// under it and its writer releases the packs it claimed.
    private let lock = NSRecursiveLock()
    private var collecting = false
    private var touched: Set<BlobID> = []
    private var claimed: Set<Int64> = []
    /// Guards the writer registry.
    private let writersChanged = NSCondition()
    private var nextTicket: UInt64 = 0
    /// Live writers by ticket; tickets only grow.
    private var writers: Set<UInt64> = []

    public init() {}

    // MARK: writers

    func writerStarted() -> UInt64 {
        writersChanged.lock()
        defer { writersChanged.unlock() }
        nextTicket += 1
        writers.insert(nextTicket)
        return nextTicket
    }

    func writerEnded(_ ticket: UInt64) {
        writersChanged.lock()
        defer { writersChanged.unlock() }
        writers.remove(ticket)
        writersChanged.broadcast()
    }

    /// Call before asking the index whether these ids are stored, on behalf of a writer.
    public func noteUsed(_ ids: some Sequence<BlobID>) {
        locked { if collecting { touched.formUnion(ids) } }
    }

    // MARK: packs

    /// Takes a pack for the caller alone; false when someone holds it.
    public func claim(_ pack: Int64) -> Bool {
        locked { claimed.insert(pack).inserted }
    }

    public func release(_ pack: Int64) {
        _ = locked { claimed.remove(pack) }
    }

    public func release(_ packs: some Sequence<Int64>) {
        locked { for pack in packs { claimed.remove(pack) } }
    }

    /// Allocates and claims a pack number in one step, so gc never sees the
    /// allocated row unclaimed (it would delete it as an empty pack).
    func claimNew(_ allocate: () throws -> Int64) throws -> Int64 {
        try locked {
            let number = try allocate()
            claimed.insert(number)
            return number
        }
    }

    // MARK: gc

    /// Makes gc active, then waits for every writer that started before.
    /// Throws when another collection is active.
    public func beginCollection() throws {
        try locked {
            guard !collecting else {
                throw RepositoryError(.locked, "gc is already running on this store", hint: "wait for it to finish")
            }
            collecting = true
            touched = []
        }
        // Writers that start from here on are noted; wait for the ones before.
        writersChanged.lock()
        defer { writersChanged.unlock() }
        let horizon = nextTicket
        while writers.contains(where: { $0 <= horizon }) { writersChanged.wait() }
    }

    /// Whether a gc is active (waiting for earlier writers, or collecting).
    public var isCollecting: Bool { locked { collecting } }

    public func endCollection() {
        locked {
            collecting = false
            touched = []
        }
    }

    /// Of `ids`, those a writer has looked up since gc began.
    public func used(among ids: some Sequence<BlobID>) -> Set<BlobID> {
        locked { Set(ids.filter { touched.contains($0) }) }
    }

    /// Runs `body` with no writer able to note a use meanwhile: gc's check of
    /// a pack's dead blobs and its commit happen here, as one step.
    public func decide<T>(_ body: (_ used: Set<BlobID>) throws -> T) rethrows -> T {
        try locked { try body(touched) }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
