import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Sessions with a peer that went silent end within `[node] peer_timeout`, and
/// sessions with a peer that is only quiet do not: both sides send keepalives.
@Suite(.serialized) struct PeerTimeoutTests {
    /// d0 and d1 with `peer_timeout = "3s"`, d0's volume holding 24 MiB in 3 files and 200 small
    /// ones, a snapshot of it, and its first replication to d1 (4 MiB/s) under way, 4 MiB stored.
    static func transferUnderWay(_ label: String, seed: UInt64, configure: (AgentCluster) -> Void = { _ in })
        throws -> (cluster: AgentCluster, source: String, snapshot: String, transfer: BargeChild) {
        let cluster = try AgentCluster(label)
        cluster.nodeExtras = "peer_timeout = \"3s\""
        cluster.peerExtras["d0>d1"] = "bandwidth_limit = \"4MiB/s\""
        configure(cluster)
        let source = cluster.volumePath("v", on: "d0")
        var rng = SplitMix64(seed: seed)
        for index in 0..<3 { try Data(rng.bytes(8 << 20)).write(to: URL(fileURLWithPath: "\(source)/part\(index).bin")) }
        try RawFS.mkdir(RawFS.bytes(source + "/small"))
        for index in 0..<200 { try Data(rng.bytes(3000)).write(to: URL(fileURLWithPath: "\(source)/small/f\(index)")) }
        for node in cluster.nodes { try cluster.start(node) }
        let id = try cluster.snapshot()
        let transfer = try cluster.startRun("d0", "replicate", "v", "--json")
        try waitUntil(timeout: 30) { cluster.packBytes("d1") >= 4 << 20 }
        return (cluster, source, id, transfer)
    }

    /// A real partition (nft drops every packet the replica sends) in the middle of its
    /// first transfer, while its standby copy is being written beside the transfer: the
    /// owner gives up within the timeout and takes snapshots again at once (the transfer
    /// held the volume's lock; before keepalives it did so for 5 minutes), the replica
    /// keeps no partial copy, and once healed the next replication completes.
    @Test func aPartitionMidTransferReleasesTheOwnerWithinTheTimeout() throws {
        guard NetworkCut.isAvailable else {
            Issue.record("nft and setpriv are needed (make test installs nftables; run as root)")
            return
        }
        let cut = NetworkCut(label: "partition")
        let (cluster, source, id, transfer) = try Self.transferUnderWay("peer-partition", seed: 51) { $0.wrappers["d1"] = cut.wrapper }
        try cut.cut(ports: nil)
        let cutAt = monotonicSeconds()
        let failed = transfer.wait()
        let gaveUpAfter = monotonicSeconds() - cutAt
        #expect(failed.status != 0, "the replication reports the partition: \(failed)")
        #expect((failed.out + failed.stderr).contains("ended before the transfer finished"), "says what happened: \(failed)")
        #expect((failed.out + failed.stderr).contains("resumes where this one stopped"), "and what to do: \(failed)")
        #expect(gaveUpAfter < 15, "the owner waited \(gaveUpAfter) s for a replica it could not hear (peer_timeout 3 s)")
        let snapshotStarted = monotonicSeconds()
        _ = try cluster.snapshot()
        #expect(monotonicSeconds() - snapshotStarted < 10, "the owner's next snapshot waited behind the dead transfer")

        // The replica hears the owner close (only its own packets are dropped) or times out: no copy, no staging.
        let copies = (cluster.standbyPath("v", on: "d1") as NSString).deletingLastPathComponent
        try waitUntil(timeout: 20) { cluster.log("d1").contains("transfer ended early") || cluster.log("d1").contains("peer session ended") }
        try waitUntil(timeout: 20) { cluster.workspace.list(copies).isEmpty }
        #expect(try cluster.volumeStatus("d1")["standby_snapshot"] as? String == nil)

        try cut.heal()
        _ = try cluster.ok("d0", "replicate", "v", "--json")
        let latest = try #require(try cluster.volumeStatus("d0")["latest_snapshot"] as? String)
        #expect(latest != id)
        try cluster.waitForStandby("d1", snapshot: latest)
        try expectSameTree(try Manifest.capture(source), cluster.standbyPath("v", on: "d1"), "the standby copy after the partition healed")
        #expect(cluster.workspace.list(copies) == ["v"], "no staging copy left behind")
        try cluster.expectVerified("d1")
    }

    /// The owner's agent freezes (SIGSTOP) in the middle of a transfer: its socket stays
    /// open and nothing closes it, so only the replica's own timeout ends the reception
    /// (and frees the volume there). Resumed, the owner replicates again and the copy completes.
    @Test func aReplicaLeavesAFrozenOwnerWithinTheTimeout() throws {
        let (cluster, source, id, transfer) = try Self.transferUnderWay("peer-frozen", seed: 53)
        cluster.signal("d0", SIGSTOP)
        let frozenAt = monotonicSeconds()
        try waitUntil(timeout: 20) { cluster.log("d1").contains("transfer ended early") }
        let leftAfter = monotonicSeconds() - frozenAt
        #expect(leftAfter < 12, "the replica waited \(leftAfter) s for a frozen owner (peer_timeout 3 s)")
        #expect(cluster.log("d1").contains("closing the peer session: nothing received from the peer"), "\(cluster.log("d1").suffix(2000))")
        let copies = (cluster.standbyPath("v", on: "d1") as NSString).deletingLastPathComponent
        try waitUntil(timeout: 20) { cluster.workspace.list(copies).isEmpty }

        cluster.signal("d0", SIGCONT)
        _ = transfer.wait()
        _ = try cluster.replicate()
        try cluster.waitForStandby("d1", snapshot: id)
        try expectSameTree(try Manifest.capture(source), cluster.standbyPath("v", on: "d1"), "the standby copy after the owner resumed")
        try cluster.expectVerified("d1")
    }

    /// A transfer whose replica has nothing to say for longer than the timeout (its
    /// requests are out, the blobs trickle in behind a bandwidth limit) completes:
    /// the keepalives tell the owner the replica is there.
    @Test func aQuietButLivePeerKeepsItsSession() throws {
        let cluster = try AgentCluster("peer-quiet")
        cluster.nodeExtras = "peer_timeout = \"2s\""
        cluster.peerExtras["d0>d1"] = "bandwidth_limit = \"1MiB/s\""
        let source = cluster.volumePath("v", on: "d0")
        var rng = SplitMix64(seed: 52)
        try Data(rng.bytes(8 << 20)).write(to: URL(fileURLWithPath: source + "/slow.bin"))
        for node in cluster.nodes { try cluster.start(node) }
        let id = try cluster.snapshot()
        let run = try cluster.run("d0", "replicate", "v", "--json")
        #expect(run.status == 0, "the quiet session was closed:\n\(run)\nd0:\n\(cluster.log("d0").suffix(3000))\nd1:\n\(cluster.log("d1").suffix(3000))")
        let report = try run.object()
        #expect((report["seconds"] as? Double ?? 0) > 4, "the transfer outlasted the timeout twice over: \(report)")
        try cluster.waitForStandby("d1", snapshot: id)
    }
}
