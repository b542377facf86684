/// Why a transition was refused. Nothing changed: the state and the store are as before.
public struct OwnershipRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// This node is not a member of the volume, or the named node is not.
        case notMember
        /// The sender (or this node) is not the owner the record names.
        case notOwner
        /// The epoch is below the one this node knows.
        case staleEpoch
        /// The owner still answers: a failover would run the container twice.
        case ownerAnswers
        /// No other member answered, so a failover while this node was away cannot be ruled out.
        case unconfirmed
        /// The request makes no sense here (a migration to this node itself).
        case invalid
        /// Self-fenced: this node cannot prove it still owns the volume (lease lost).
        case suspended
    }

    public let code: Code
    public let message: String
    public let hint: String?

    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message) (hint: \($0))" } ?? message }
}

/// What a transition decided: the steps to carry out, or a refusal.
public enum OwnershipDecision: Sendable, Hashable {
    case act([OwnershipAction])
    case refuse(OwnershipRefusal)

    public static let nothing = OwnershipDecision.act([])

    public var actions: [OwnershipAction] {
        if case let .act(actions) = self { return actions }
        return []
    }

    /// The actions, or the refusal thrown.
    public func get() throws(OwnershipRefusal) -> [OwnershipAction] {
        switch self {
        case let .act(actions): return actions
        case let .refuse(refusal): throw refusal
        }
    }

    public var refusal: OwnershipRefusal? {
        if case let .refuse(refusal) = self { return refusal }
        return nil
    }
}
