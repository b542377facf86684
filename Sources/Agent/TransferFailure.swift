import Replication

/// Why the last transfer of a volume to one replica failed, as `replicate`
/// and `status` show it, with what to do when the cause is known.
struct TransferFailure: Sendable, Equatable {
    let message: String
    let hint: String?

    init(_ error: any Error, volume: String, peer: String) {
        message = "\(error)"
        if case let .peer(wire)? = error as? ReplicationError, wire.code == .storage {
            // The replica's message names its state directory and the cause (a full disk, an I/O error).
            hint = "free space in \(peer)'s state directory, then run `barge replicate \(volume) --to \(peer)`"
        } else {
            hint = nil
        }
    }
}
