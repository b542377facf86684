import Replication

/// Why the last transfer of a volume to one replica failed, as `replicate`
/// and `status` show it, with what to do when the cause is known.
struct TransferFailure: Sendable, Equatable {
    let message: String
    let hint: String?

    init(_ error: any Error, volume: String, peer: String) {
        if case let .peer(wire)? = error as? ReplicationError, wire.code == .storage {
            // The replica's message names its state directory and the cause (a full disk, an I/O error).
            message = "\(error)"
            hint = "free space in \(peer)'s state directory, then run `barge replicate \(volume) --to \(peer)`"
        } else if error is PeerChannelClosed {
            message = "the session with \(peer) ended before the transfer finished (\(error)): \(peer)'s agent stopped or froze, "
                + "or the network between the nodes is cut (a session that brings nothing closes after peer_timeout)"
            hint = "check that \(peer)'s agent runs and that it can be reached; `barge replicate \(volume) --to \(peer)` "
                + "resumes where this one stopped"
        } else {
            message = "\(error)"
            hint = nil
        }
    }
}
