import AgentConfig
import Control
import Foundation
import Replication
import Repository
import Wire

/// Planned and unplanned moves of a volume between nodes. The invariant: a
/// container runs only on the node whose ownership record says so, and a
/// node starts it only after every step that could be undone is behind it.
extension AgentCore {
    /// Pre-copy rounds stop once a round sends less than this.
    static let precopyTarget = 8 << 20
    static let maxPrecopyRounds = 4

    /// Sends one message to a peer and returns its answer (error frames throw).
    /// A peer that accepts the connection but does not answer within the
    /// deadline counts as not answering: nothing waits on a frozen node.
    func ask(_ peerName: String, _ message: Message, deadline: Duration = .seconds(30)) async throws -> Message {
        guard let peer = config.peer(named: peerName) else {
            throw MoveError("no [[peer]] named \(peerName) in the config", hint: "add it and reload (systemctl reload barge)")
        }
        let dialer = PeerDialer(core: self)
        return try await withThrowingTaskGroup(of: Message?.self) { group in
            group.addTask {
                try await dialer.withSession(to: peer) { channel in
                    try await channel.send(message)
                    return try await channel.expectMessage()
                }
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let answer = first else {
                throw MoveError("\(peerName) did not answer \(message.kind) within \(deadline)")
            }
            return answer
        }
    }

    // MARK: migrate (on the owner)

    func migrate(_ volume: String, to target: String) async throws -> MigrationReport {
        let settings = try settings(volume)
        _ = try requireOwner(volume, for: "a migration starts")
        guard target != node else {
            throw ControlFailure(message: "\(node) already owns \(volume); name the node to move it to", exitCode: 2)
        }
        guard settings.members.contains(target) else {
            throw ControlFailure(message: "\(target) is not a member of \(volume) (members: \(settings.members.joined(separator: ", ")))",
                                 hint: "choose one of its replicas", exitCode: 2)
        }
        return try await locks.withLock(volume) { try await migrateLocked(settings, to: target) }
    }

    private func migrateLocked(_ volume: VolumeSettings, to target: String) async throws -> MigrationReport {
        let started = Date()
        var phases: [MovePhase] = []
        let epoch = try requireOwner(volume.name, for: "a migration starts").epoch
        // 1. Pre-copy while the container runs, until what is left is small.
        for round in 1...Self.maxPrecopyRounds {
            let phaseStart = Date()
            _ = try await takeSnapshot(volume.name)
            let sent = try await replicateOrThrow(volume.name, to: target)
            phases.append(MovePhase(name: "precopy \(round)", seconds: Date().timeIntervalSince(phaseStart), bytesSent: sent))
            if sent < Self.precopyTarget { break }
        }
        // 2. Stop the container; from here a failure restarts it here.
        let downtimeStart = Date()
        do { try await stopContainer(volume, epoch: epoch) } catch {
            // A stop that failed may have stopped part of it: make sure it runs, here.
            logger.error("migration of \(volume.name) stopped: \(error); starting the container again")
            do { try await startContainer(volume, epoch: epoch) } catch {
                noteError(volume.name, "the stop hook failed and the start hook too: \(error)")
            }
            throw error
        }
        phases.append(MovePhase(name: "stop", seconds: Date().timeIntervalSince(downtimeStart), bytesSent: 0))
        let final: BlobID
        do {
            // 3. The final snapshot, complete on the target (standby included) before the hand-over.
            let phaseStart = Date()
            final = try await takeSnapshot(volume.name).id
            let sent = try await replicateOrThrow(volume.name, to: target)
            phases.append(MovePhase(name: "final", seconds: Date().timeIntervalSince(phaseStart), bytesSent: sent))
            let prepareStart = Date()
            // Preparing may finish the target's standby update: a generous deadline.
            try await expectDone(try await ask(target, .handover(volume: volume.name, snapshot: final.wire, epoch: epoch + 1, phase: .prepare),
                                               deadline: .seconds(300)), .prepare, epoch + 1)
            phases.append(MovePhase(name: "prepare", seconds: Date().timeIntervalSince(prepareStart), bytesSent: 0))
        } catch {
            await rollBack(volume, from: epoch, target: target, cause: error)
            throw error
        }
        // 4. The hand-over: recorded here, then this copy becomes the standby.
        try store.index.raiseOwnership(Ownership(volume: volume.name, owner: target, epoch: epoch + 1))
        logger.notice("handed over", metadata: ["volume": "\(volume.name)", "owner": "\(target)", "epoch": "\(epoch + 1)"])
        do { try demote(volume, as: final) } catch {
            logger.error("after the hand-over of \(volume.name): \(error)")
            noteError(volume.name, "handed over, but the local copy stayed in place: \(error)")
        }
        // 5. The target starts the container; if it cannot, the volume comes back here.
        let startPhase = Date()
        do {
            try await expectDone(try await ask(target, .handover(volume: volume.name, snapshot: final.wire, epoch: epoch + 1, phase: .commit),
                                               deadline: .seconds(volume.hooks.timeoutSeconds + 30)), .commit, epoch + 1)
        } catch {
            try await takeBack(volume, final: final, from: target, epoch: epoch + 2, cause: error)
            throw MoveError("\(target) could not start \(volume.name) (\(error)); it runs here again, at epoch \(epoch + 2)",
                            hint: "fix the start hook on \(target) and migrate again")
        }
        phases.append(MovePhase(name: "start", seconds: Date().timeIntervalSince(startPhase), bytesSent: 0))
        await notifyMembers(volume, owner: target, epoch: epoch + 1, except: [target])
        let report = MigrationReport(volume: volume.name, from: node, to: target, epoch: epoch + 1, snapshot: final.hex,
                                     downtimeS: Date().timeIntervalSince(downtimeStart), seconds: Date().timeIntervalSince(started), phases: phases)
        logger.notice("migrated", metadata: ["volume": "\(volume.name)", "to": "\(target)", "downtime_s": "\(report.downtimeS)",
                                             "bytes_sent": "\(report.bytesSent)"])
        return report
    }

    /// Before the hand-over: the target gives its copy back, this node raises the
    /// epoch past anything the target may have recorded, and restarts the container.
    private func rollBack(_ volume: VolumeSettings, from epoch: UInt64, target: String, cause: Error) async {
        logger.error("migration of \(volume.name) to \(target) failed, rolling back: \(cause)")
        // An abort names no snapshot: the target moves back only a copy it promoted itself.
        let none = BlobID.of(.chunk, []).wire
        _ = try? await ask(target, .handover(volume: volume.name, snapshot: none, epoch: epoch + 1, phase: .abort), deadline: .seconds(10))
        do {
            try store.index.raiseOwnership(Ownership(volume: volume.name, owner: node, epoch: epoch + 2))
            await notifyMembers(volume, owner: node, epoch: epoch + 2, except: [])
            try await startContainer(volume, epoch: epoch + 2)
        } catch {
            logger.critical("rollback of \(volume.name) could not restart its container: \(error)")
            noteError(volume.name, "migration rolled back, but the start hook failed: \(error)")
        }
    }

    /// After the hand-over, the target could not start the container: this
    /// node raises the epoch over the target's, promotes the copy it just gave
    /// up (the final snapshot, unchanged) and starts the container here. The
    /// target is told, and fences itself.
    private func takeBack(_ volume: VolumeSettings, final: BlobID, from target: String, epoch: UInt64, cause: Error) async throws {
        logger.error("\(target) could not start \(volume.name), taking it back: \(cause)")
        try store.index.raiseOwnership(Ownership(volume: volume.name, owner: node, epoch: epoch))
        if try store.index.standby(of: volume.name)?.snapshot == final { _ = try promote(volume) }
        await notifyMembers(volume, owner: node, epoch: epoch, except: [])
        try await startContainer(volume, epoch: epoch)
    }

    private func replicateOrThrow(_ volume: String, to target: String) async throws -> Int {
        let report = try await replicateLatest(volume, to: target)
        guard let transfer = report.peers.first, transfer.ok else {
            throw MoveError("replication to \(target) failed: \(report.peers.first?.error ?? "no answer")", hint: report.peers.first?.hint)
        }
        return transfer.bytesSent
    }

    private func expectDone(_ answer: Message, _ phase: HandoverPhase, _ epoch: UInt64) async throws {
        guard case let .handoverDone(_, doneEpoch, donePhase) = answer, donePhase == phase, doneEpoch == epoch else {
            throw MoveError("unexpected answer \(answer.kind) to the hand-over's \(phase) step")
        }
    }

    /// Tells the other members about a new owner; best effort (they also learn it from the next offer).
    func notifyMembers(_ volume: VolumeSettings, owner: String, epoch: UInt64, except: Set<String>) async {
        for member in volume.members where member != node && !except.contains(member) {
            do { _ = try await ask(member, .ownership(volume: volume.name, owner: owner, epoch: epoch, standby: nil), deadline: .seconds(10)) } catch {
                logger.warning("could not tell \(member) that \(owner) owns \(volume.name) at epoch \(epoch): \(error)")
            }
        }
    }
}
