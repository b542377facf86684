/// One step the agent carries out for a decision, in the order given. A step
/// that fails stops the plan unless it says it may fail (`mustSucceed: false`).
public enum OwnershipAction: Sendable, Hashable, CustomStringConvertible {
    /// Persist the record (never lowers the epoch); the first step of every change of owner.
    case record(OwnerRecord)
    /// Run the stop hook; the epoch is the one the container ran under.
    case stopContainer(epoch: UInt64, mustSucceed: Bool)
    /// Run the start hook under this epoch (the container's fencing token).
    case startContainer(epoch: UInt64, mustSucceed: Bool)
    /// Snapshot the live data as `diverged` at the epoch it was written under.
    case keepDiverged(epoch: UInt64)
    /// Move the live directory to the standby place, where it stands for `as`.
    case demote(as: DemotedData)
    /// Bring the standby copy up to this snapshot (nil: the newest here) and require it complete.
    case bringStandby(to: String?)
    /// Require a complete standby copy and nothing at the volume's path.
    case checkPromotable
    /// Rename the standby copy to the volume's path (only if it equals `onlyIf`, when given).
    case promote(onlyIf: String?)
    /// Tell the other members (but `except`) about the record; best effort.
    case notifyMembers(OwnerRecord, except: [String])
    /// Ask a migration's target to give back a copy it promoted for `epoch`.
    case sendAbort(to: String, epoch: UInt64)
    /// Record that `peer` holds `snapshot` (a migration's source keeps the final one).
    case recordAck(peer: String, snapshot: String)

    public enum DemotedData: Sendable, Hashable, CustomStringConvertible {
        /// The diverged snapshot taken by this plan's `keepDiverged`.
        case diverged
        /// A snapshot known by id (a migration's final snapshot).
        case snapshot(String)
        /// The newest complete snapshot here (what an aborted target promoted).
        case newestComplete

        public var description: String {
            switch self {
            case .diverged: "diverged"
            case let .snapshot(id): id
            case .newestComplete: "newest"
            }
        }
    }

    /// Whether the plan goes on when this step fails.
    public var mayFail: Bool {
        switch self {
        case let .stopContainer(_, mustSucceed), let .startContainer(_, mustSucceed): !mustSucceed
        default: false
        }
    }

    /// The compact form the test vectors use.
    public var description: String {
        switch self {
        case let .record(record): "record \(record)"
        case let .stopContainer(epoch, mustSucceed): "stop@\(epoch)" + (mustSucceed ? "" : "?")
        case let .startContainer(epoch, mustSucceed): "start@\(epoch)" + (mustSucceed ? "" : "?")
        case let .keepDiverged(epoch): "diverged@\(epoch)"
        case let .demote(data): "demote \(data)"
        case let .bringStandby(snapshot): "standby \(snapshot ?? "newest")"
        case .checkPromotable: "check promotable"
        case let .promote(onlyIf): "promote" + (onlyIf.map { " if \($0)" } ?? "")
        case let .notifyMembers(record, except): "notify \(record)" + (except.isEmpty ? "" : " except \(except.joined(separator: ","))")
        case let .sendAbort(target, epoch): "abort \(target)@\(epoch)"
        case let .recordAck(peer, snapshot): "ack \(peer) \(snapshot)"
        }
    }
}
