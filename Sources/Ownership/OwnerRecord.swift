/// Who may write a volume, and the fencing token (epoch) that proves it.
/// Tokens only grow: a record never gives way to one with a lower epoch,
/// and at one epoch there is only one owner.
public struct OwnerRecord: Sendable, Hashable, CustomStringConvertible {
    public let owner: String
    public let epoch: UInt64

    public init(owner: String, epoch: UInt64) {
        self.owner = owner
        self.epoch = epoch
    }

    /// Whether `other` supersedes this record.
    public func isSuperseded(by other: OwnerRecord) -> Bool { other.epoch > epoch }

    /// `owner@epoch`, the form the logs and the test vectors use.
    public var description: String { "\(owner)@\(epoch)" }

    /// Parses `owner@epoch`.
    public init?(_ text: String) {
        guard let at = text.lastIndex(of: "@"), let epoch = UInt64(text[text.index(after: at)...]), at != text.startIndex else { return nil }
        self.init(owner: String(text[..<at]), epoch: epoch)
    }
}

/// Whether this node's container for a volume runs, as far as this agent knows.
public enum ContainerState: String, Sendable, Hashable {
    case running
    case stopped
    /// Stopped by the owner itself because it could no longer prove it owns
    /// the volume (lease lost); started again when the lease is back.
    case suspended
}
