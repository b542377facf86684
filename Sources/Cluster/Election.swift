/// Who should take a volume over when its owner's lease has expired: the
/// live member whose copy is newest. Every member computes the same answer
/// from the same etcd read, and only that member campaigns; its transaction
/// also checks that none of the records it ranked has changed since, so a
/// member that is behind cannot win while a fresher one is alive.
public struct Election: Sendable, Equatable {
    public struct Candidate: Sendable, Equatable {
        public let held: HeldSnapshot
        /// The held key's mod_revision, compared in the transaction.
        public let revision: Int64
        public init(held: HeldSnapshot, revision: Int64) {
            self.held = held
            self.revision = revision
        }
    }

    public let volume: String
    public let members: [String]
    /// Held records of the volume's members whose node key is alive.
    public let candidates: [Candidate]

    public init(volume: String, members: [String], alive: Set<String>, held: [Candidate]) {
        self.volume = volume
        self.members = members
        self.candidates = held.filter { members.contains($0.held.node) && alive.contains($0.held.node) }
    }

    /// The member that should win, if any holds a copy.
    public var winner: HeldSnapshot? {
        candidates.map(\.held).reduce(nil) { best, next in
            guard let best else { return next }
            return next.isBetter(than: best) ? next : best
        }
    }

    public enum Outcome: Sendable, Equatable {
        /// This node should campaign now.
        case campaign
        /// Another member is the better candidate; wait for it (or for its lease to expire).
        case wait(for: String)
        /// This node holds no copy it could come up with.
        case ineligible
    }

    public func outcome(for node: String) -> Outcome {
        guard candidates.contains(where: { $0.held.node == node }), let winner else { return .ineligible }
        return winner.node == node ? .campaign : .wait(for: winner.node)
    }
}

/// When an owner must consider its lease lost, on a monotonic clock. etcd
/// counts a lease's TTL from when it handled the last keepalive, which is
/// after the agent sent it, so the lease lives at least until
/// `sent + ttl`. The owner stops its container from `sent + ttl/2`, leaving
/// half the TTL for the stop hook before any other node can be elected.
public struct LeaseGuard: Sendable, Equatable {
    public let ttlNanoseconds: UInt64
    /// When the newest keepalive that etcd confirmed was sent (monotonic ns).
    public private(set) var confirmedSentAt: UInt64?

    public init(ttlSeconds: Int) { ttlNanoseconds = UInt64(ttlSeconds) * 1_000_000_000 }

    /// Every request about the lease must finish within this, so that two can fail before the deadline.
    public var keepaliveInterval: UInt64 { ttlNanoseconds / 6 }

    /// The instant from which the owner must behave as if its lease were gone.
    public var fenceDeadline: UInt64? { confirmedSentAt.map { $0 + ttlNanoseconds / 2 } }

    /// A grant or keepalive sent at `sentAt` was answered with the lease alive.
    public mutating func confirmed(sentAt: UInt64) {
        confirmedSentAt = max(confirmedSentAt ?? 0, sentAt)
    }

    /// etcd said the lease is gone.
    public mutating func lost() { confirmedSentAt = nil }

    public func mustFence(now: UInt64) -> Bool {
        guard let deadline = fenceDeadline else { return true }
        return now >= deadline
    }

    /// Whether the owner's containers are stopped for want of a proved lease (the watchdog's view).
    private var fenced = false
    /// A container's guard process stopped it on its own since the watchdog last looked.
    private var guardStopped = false

    /// A guard process ran a stop hook because the deadline it was given passed: maybe between
    /// two looks of the watchdog, or just before a late keepalive moved it. The owner must go
    /// through fencing, and so through the restart that follows, though its lease is proved again.
    public mutating func guardStoppedContainer() { guardStopped = true }

    public enum FenceChange: Sendable, Equatable { case fence, unfence }

    /// The watchdog's step: fence once the lease is not proved (or a guard stopped a container
    /// while the owner was not fenced), un-fence once it is proved again.
    public mutating func watch(now: UInt64) -> FenceChange? {
        let must = mustFence(now: now) || (guardStopped && !fenced)
        guardStopped = false
        guard must != fenced else { return nil }
        fenced = must
        return must ? .fence : .unfence
    }
}
