import Foundation

/// A peer's snapshots of a volume (`barge snapshots VOLUME --from PEER`): the
/// records as the peer encoded them, oldest first. The CLI checks each against
/// its id before it prints or restores anything.
public struct PeerSnapshotList: Codable, Sendable {
    public var peer: String
    public var volume: String
    public var records: [Data]

    public init(peer: String, volume: String, records: [Data]) {
        self.peer = peer
        self.volume = volume
        self.records = records
    }
}

/// One snapshot fetched from a peer into this node's store (only what the store
/// lacked was sent, every blob verified).
public struct FetchReport: Codable, Sendable {
    public var peer: String
    public var volume: String
    public var snapshot: String
    public var alreadyHad: Bool
    public var blobsReceived: Int
    public var bytesReceived: Int
    public var seconds: Double

    public init(peer: String, volume: String, snapshot: String, alreadyHad: Bool, blobsReceived: Int, bytesReceived: Int, seconds: Double) {
        self.peer = peer
        self.volume = volume
        self.snapshot = snapshot
        self.alreadyHad = alreadyHad
        self.blobsReceived = blobsReceived
        self.bytesReceived = bytesReceived
        self.seconds = seconds
    }
}
