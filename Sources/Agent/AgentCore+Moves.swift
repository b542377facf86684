import AgentConfig
import Control
import Foundation
import Ownership
import Replication
import Repository
import Wire

/// Planned and unplanned moves of a volume between nodes. The invariant: a
/// container runs only on the node whose ownership record says so, and a
/// node starts it only after every step that could be undone is behind it.
extension AgentCore {
    /// Pre-copy rounds stop once a round sends less than this in less than `precopySeconds`:
    /// the final copy, inside the downtime, has about one round's worth of changes to carry.
    static let precopyTarget = 8 << 20
    static let precopySeconds = 1.0
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

    /// `maxDowntime`: the longest the final copy may keep the container stopped (nil: the volume's `max_downtime`).
    func migrate(_ volume: String, to target: String, maxDowntime: Double? = nil) async throws -> MigrationReport {
        let settings = try settings(volume)
        if let refusal = try ownershipState(settings).checkMigration(to: target) { throw refusal }
        return try await locks.withLock(volume) {
            try await migrateLocked(settings, to: target, maxDowntime: maxDowntime ?? settings.maxDowntimeSeconds)
        }
    }

    private func migrateLocked(_ volume: VolumeSettings, to target: String, maxDowntime: Double) async throws -> MigrationReport {
        let started = Date()
        var phases: [MovePhase] = []
        let start = try ownershipState(volume)
        if let refusal = start.checkMigration(to: target) { throw refusal }
        let epoch = start.record.epoch
        // Under [cluster] the hand-over's token comes from etcd, at the hand-over point.
        let cluster = coordinator.withLock { $0 }
        var proposed = start.nextEpoch, recordMoved = false
        // 1. Pre-copy while the container runs, until what is left is small.
        for round in 1...Self.maxPrecopyRounds {
            let phaseStart = Date()
            _ = try await takeSnapshot(volume.name)
            let sent = try await replicateOrThrow(volume.name, to: target)
            let seconds = Date().timeIntervalSince(phaseStart)
            phases.append(MovePhase(name: "precopy \(round)", seconds: seconds, bytesSent: sent))
            // A volume written all along (a database) changes during each round: go on while rounds are long.
            if sent < Self.precopyTarget && seconds < Self.precopySeconds { break }
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
            // 3. The final snapshot, complete on the target (standby included) before the hand-over,
            // within the downtime budget: a slow link or replica must not keep the container down for long.
            let phaseStart = Date()
            let (snapshot, sent) = try await withinBudget(maxDowntime, volume.name, target) {
                (try await self.takeSnapshot(volume.name).id, try await self.replicateOrThrow(volume.name, to: target))
            }
            final = snapshot
            phases.append(MovePhase(name: "final", seconds: Date().timeIntervalSince(phaseStart), bytesSent: sent))
            let prepareStart = Date()
            if let cluster {
                proposed = try await cluster.handOver(volume.name, at: epoch, to: target)
                recordMoved = true
            }
            // Preparing may finish the target's standby update: a generous deadline.
            try await expectDone(try await ask(target, .handover(volume: volume.name, snapshot: final.wire, epoch: proposed, phase: .prepare),
                                               deadline: .seconds(300)), .prepare, proposed)
            phases.append(MovePhase(name: "prepare", seconds: Date().timeIntervalSince(prepareStart), bytesSent: 0))
        } catch {
            await rollBack(volume, epoch: epoch, proposed: proposed, recordMoved: recordMoved, target: target, cause: error)
            throw error
        }
        // 4. The hand-over: recorded here, then this copy becomes the standby.
        do { try await decide(volume) { $0.handedOver(to: target, epoch: proposed, final: final.hex) } } catch let failure as OwnershipStepFailure {
            guard case .demote = failure.action else { throw failure }
            logger.error("after the hand-over of \(volume.name): \(failure)")
            noteError(volume.name, "handed over, but the local copy stayed in place: \(failure)")
        }
        logger.notice("handed over", metadata: ["volume": "\(volume.name)", "owner": "\(target)", "epoch": "\(proposed)"])
        // 5. The target starts the container; if it cannot, the volume comes back here.
        let startPhase = Date()
        do {
            try await expectDone(try await ask(target, .handover(volume: volume.name, snapshot: final.wire, epoch: proposed, phase: .commit),
                                               deadline: .seconds(volume.hooks.timeoutSeconds + 30)), .commit, proposed)
        } catch {
            logger.error("\(target) could not start \(volume.name), taking it back: \(error)")
            let token = try await cluster?.takeBack(volume.name, from: proposed)
            let back = try await decide(volume) { $0.takeBack(from: target, final: final.hex, token: token) }
            throw MoveError("\(target) could not start \(volume.name) (\(error)); it runs here again, at epoch \(back.record.epoch)",
                            hint: "fix the start hook on \(target) and migrate again")
        }
        phases.append(MovePhase(name: "start", seconds: Date().timeIntervalSince(startPhase), bytesSent: 0))
        await notifyMembers(volume, owner: target, epoch: proposed, except: [target])
        let report = MigrationReport(volume: volume.name, from: node, to: target, epoch: proposed, snapshot: final.hex,
                                     downtimeS: Date().timeIntervalSince(downtimeStart), seconds: Date().timeIntervalSince(started), phases: phases)
        logger.notice("migrated", metadata: ["volume": "\(volume.name)", "to": "\(target)", "downtime_s": "\(report.downtimeS)",
                                             "bytes_sent": "\(report.bytesSent)"])
        return report
    }

    /// Before the hand-over: the target gives its copy back, this node raises the
    /// epoch past anything the target may have recorded (under [cluster]: takes
    /// the owner record back, if it had moved), and restarts the container.
    private func rollBack(_ volume: VolumeSettings, epoch: UInt64, proposed: UInt64, recordMoved: Bool, target: String, cause: Error) async {
        logger.error("migration of \(volume.name) to \(target) failed, rolling back: \(cause)")
        do {
            if let cluster = coordinator.withLock({ $0 }) {
                guard recordMoved else {
                    // etcd still names this node at the same token: nothing to undo but the stop.
                    try await startContainer(volume, epoch: epoch)
                    return
                }
                let token = try await cluster.takeBack(volume.name, from: proposed)
                try await decide(volume) { $0.rollBackMigration(target: target, proposed: proposed, token: token) }
            } else {
                try await decide(volume) { $0.rollBackMigration(target: target, proposed: proposed) }
            }
        } catch {
            logger.critical("rollback of \(volume.name) could not restart its container: \(error)")
            noteError(volume.name, "migration rolled back, but: \(error)")
        }
    }

    /// Runs the final copy, or gives up (cancelling it) once it took `seconds`. The target keeps
    /// what it received (a later replication resumes from it) and never promotes it: the hand-over
    /// comes after this.
    private func withinBudget<T: Sendable>(_ seconds: Double, _ volume: String, _ target: String,
                                           _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw MoveError("the final copy of \(volume) to \(target) did not finish within the downtime budget of \(String(format: "%g", seconds)) s; "
                                + "the migration stopped and the container runs here again",
                                hint: "migrate when the link or \(target) is faster or the volume quieter (the pre-copy sent what it could), "
                                + "or allow more: [volume] max_downtime, or migrate --max-downtime")
            }
            return value
        }
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
