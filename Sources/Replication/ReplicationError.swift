import Wire

/// Why a replication stopped. `peer` came from the other side in an error
/// frame; `local` is ours and is sent to the peer before the session closes.
public enum ReplicationError: Error, Sendable, CustomStringConvertible {
    case peer(WireError)
    case local(WireError)

    public var wire: WireError {
        switch self {
        case let .peer(error), let .local(error): error
        }
    }

    /// A peer's `storage` error is not a refusal: its message names the node
    /// and the cause (`d1 cannot store … : No space left on device`).
    public var description: String {
        switch self {
        case let .peer(error) where error.code == .storage: "\(error.message) [\(error.code)]"
        case let .peer(error): "the peer refused: \(error.message) [\(error.code)]"
        case let .local(error): "\(error.message) [\(error.code)]"
        }
    }

    public static func fail(_ code: WireError.Code, _ message: String) -> ReplicationError {
        .local(WireError(code, message))
    }
}
