import ArgumentParser
import Control
import Foundation
import Repository
import Snapshots

/// A peer's history through this node's agent, which holds the certificates:
/// its list of snapshots (each record checked against its id here) and the
/// fetching of one into this node's store.
struct PeerHistory {
    let agent: AgentOptions

    private func socket() throws -> String {
        guard let socket = try agent.agentSocketIfRunning() else {
            throw ValidationError("--from PEER goes through this node's agent (it holds the certificates), and none answers; "
                                  + "start it (systemctl start barge) or pass --socket")
        }
        return socket
    }

    func snapshots(of volume: String, on peer: String) throws -> [StoredSnapshot] {
        let request = ControlRequest(command: .peerSnapshots, volume: volume, peer: peer)
        guard let list = try agent.send(request, to: try socket()).peerSnapshots else { throw ExitCode(ExitStatus.error.rawValue) }
        let snapshots = try list.records.map { data -> StoredSnapshot in
            let bytes = [UInt8](data)
            let record: SnapshotRecord
            do { record = try SnapshotRecord.decode(bytes) } catch {
                throw RepositoryError(.corrupt, "\(peer) listed a snapshot record of \(volume) that does not decode: \(error)")
            }
            guard record.volume == volume else {
                throw RepositoryError(.corrupt, "\(peer) listed a snapshot of \(record.volume) when asked for \(volume)")
            }
            return StoredSnapshot(id: BlobID.of(.snapshot, bytes), record: record)
        }
        return snapshots.sorted { $0.record.timeNanoseconds < $1.record.timeNanoseconds }
    }

    /// Fetches the snapshot the selector names on the peer; returns its id and what moved.
    func fetch(_ volume: String, _ selector: SnapshotSelector, from peer: String) throws -> (StoredSnapshot, FetchReport) {
        let listed = try snapshots(of: volume, on: peer)
        let chosen: StoredSnapshot
        do { chosen = try SnapshotEngine.choose(selector, among: listed, volume: volume) } catch let error as RepositoryError {
            throw RepositoryError(error.code, "on \(peer): \(error.message)", hint: "list them with `barge snapshots \(volume) --from \(peer)`")
        }
        let request = ControlRequest(command: .fetch, volume: volume, peer: peer, snapshot: chosen.id.hex)
        guard let report = try agent.send(request, to: try socket()).fetch else { throw ExitCode(ExitStatus.error.rawValue) }
        return (chosen, report)
    }
}
