import AgentConfig
import Control
import Foundation
import Ownership
import Repository
import Wire

extension AgentCore {
    // MARK: failover (on the target, when the owner is dead)

    func failover(_ volume: String, to target: String, force: Bool) async throws -> FailoverReport {
        let settings = try settings(volume)
        guard target == node else {
            throw ControlFailure(message: "run failover on the node that takes the volume: this is \(node), not \(target)",
                                 hint: "`barge failover \(volume) --to \(target)` on \(target)", exitCode: 2)
        }
        if let cluster = coordinator.withLock({ $0 }) { return try await failover(settings, through: cluster, force: force) }
        // The owner is asked before anything is cut: if it answers, the failover is refused
        // here, and a transfer it is sending goes on (and is not waited for).
        let asked = try ownershipState(settings)
        var ownerAnswer: OwnerRecord?
        if asked.failoverNeedsOwnerProbe(force: force) {
            ownerAnswer = await probeOwner(of: volume, recorded: asked.record)
            var refusal = asked
            _ = try refusal.failover(force: force, ownerAnswer: ownerAnswer, dataAtPath: FileManager.default.fileExists(atPath: settings.path)).get()
        }
        cutReceptions(volume, because: "failover to this node")
        return try await locks.withLock(volume) {
            let before = try ownershipState(settings)
            if before.record != asked.record && before.failoverNeedsOwnerProbe(force: force) {
                // The record changed while the owner was asked: ask the one it names now.
                ownerAnswer = await probeOwner(of: volume, recorded: before.record)
            }
            let promotionStart = Date()
            var after = before
            let actions = try after.failover(force: force, ownerAnswer: ownerAnswer,
                                             dataAtPath: FileManager.default.fileExists(atPath: settings.path)).get()
            // Promotion ends with the rename; the members are told and the container started after it.
            let promoted = (actions.lastIndex { if case .promote = $0 { true } else { false } } ?? -1) + 1
            try await carryOut(.act(Array(actions[..<promoted])), for: settings)
            let promotion = Date().timeIntervalSince(promotionStart)
            if !before.ownedHere {
                logger.notice("failed over", metadata: ["volume": "\(volume)", "from": "\(before.record.owner)", "epoch": "\(after.record.epoch)",
                                                        "forced": "\(force)"])
            }
            try await carryOut(.act(Array(actions[promoted...])), for: settings)
            // The data came up at the promoted copy's snapshot, which may be older than the newest here.
            let promotedSnapshot = promotedAt.withLock { $0[volume]?.snapshot }
            let snapshot = try promotedSnapshot.flatMap { try store.index.snapshot($0) }
                ?? store.snapshots(volume: volume).last(where: { $0.record.state == "complete" })
            return FailoverReport(volume: volume, from: before.record.owner, to: node, epoch: after.record.epoch, snapshot: snapshot?.id.hex ?? "",
                                  snapshotTime: snapshot.map { Self.time($0.record.timeNanoseconds) } ?? "",
                                  mayLoseSinceS: before.ownedHere ? 0 : max(0, Date().timeIntervalSince1970 - Double(snapshot?.record.timeNanoseconds ?? 0) / 1e9),
                                  promotionS: before.ownedHere ? 0 : promotion, started: containers.isRunning(volume) == true, forced: force)
        }
    }

    /// What the recorded owner says it holds, or nil if it does not answer within 5 s.
    private func probeOwner(of volume: String, recorded: OwnerRecord) async -> OwnerRecord? {
        guard let reply = try? await ask(recorded.owner, .queryOwnership(volume: volume), deadline: .seconds(5)) else { return nil }
        if case let .ownership(_, owner, epoch, _) = reply { return OwnerRecord(owner: owner, epoch: epoch) }
        return recorded
    }

    /// Under [cluster]: this node takes the owner record in etcd (from a live
    /// owner only with --force), then comes up as an election winner does.
    private func failover(_ volume: VolumeSettings, through cluster: ClusterCoordinator, force: Bool) async throws -> FailoverReport {
        let started = Date()
        let before = try ownershipState(volume)
        let token = try await cluster.claim(volume.name, force: force)
        if force && !before.ownedHere {
            // The old owner may still run (its lease lives): it fences itself on this notice before the container starts here.
            await notifyMembers(volume, owner: node, epoch: token, except: [])
        }
        cutReceptions(volume.name, because: "failover to this node")
        try await locks.withLock(volume.name) { _ = try await decide(volume) { $0.elected(token: token) } }
        let promoted = promotedAt.withLock { $0[volume.name]?.snapshot }
        let snapshot = try promoted.flatMap { try store.index.snapshot($0) }
            ?? store.snapshots(volume: volume.name).last(where: { $0.record.state == "complete" })
        logger.notice("failed over through etcd", metadata: ["volume": "\(volume.name)", "token": "\(token)", "forced": "\(force)"])
        return FailoverReport(volume: volume.name, from: before.record.owner, to: node, epoch: token, snapshot: snapshot?.id.hex ?? "",
                              snapshotTime: snapshot.map { Self.time($0.record.timeNanoseconds) } ?? "",
                              mayLoseSinceS: before.ownedHere ? 0 : max(0, Date().timeIntervalSince1970 - Double(snapshot?.record.timeNanoseconds ?? 0) / 1e9),
                              promotionS: Date().timeIntervalSince(started), started: containers.isRunning(volume.name) == true, forced: force)
    }

    /// Before this node takes `volume` over (or follows a newer owner): transfers
    /// from anyone else are cut off, or one from an owner that went silent would
    /// hold the volume's lock until the peer timeout. A transfer cut off from a
    /// live owner (a failover it refuses) only resumes later.
    func cutReceptions(_ volume: String, except keep: String? = nil, because reason: String) {
        let peers = receptions.cut(volume, except: keep)
        guard !peers.isEmpty else { return }
        logger.notice("cut off the transfer from \(peers.joined(separator: ", ")): \(reason); what was verified is kept",
                      metadata: ["volume": "\(volume)"])
    }

    // MARK: drain

    /// Migrates every volume this node owns to the first member that answers.
    func drain() async -> DrainReport {
        var migrations: [MigrationReport] = [], failures: [String] = []
        for volume in config.volumes where (try? ownership(volume.name))?.owner == node {
            var moved = false
            for member in volume.members where member != node {
                guard (try? await ask(member, .queryOwnership(volume: volume.name), deadline: .seconds(5))) != nil else { continue }
                do {
                    migrations.append(try await migrate(volume.name, to: member))
                    moved = true
                } catch {
                    failures.append("\(volume.name) → \(member): \(error)")
                }
                break
            }
            if !moved && !failures.contains(where: { $0.hasPrefix(volume.name + " ") }) {
                failures.append("\(volume.name): no other member answers")
            }
        }
        return DrainReport(node: node, migrations: migrations, failures: failures)
    }

    // MARK: at start

    /// Before starting any container this node owns, ask the other members
    /// whether one of them owns the volume at a higher epoch (a failover while
    /// this node was down): if so, fence; if not, start it. While no other
    /// member answers it keeps asking and the container stays stopped (safety
    /// first); `barge failover VOL --to SELF` starts it by hand.
    func reconcileAtStart(warnAfter attempts: Int = 30, pause: Duration = .seconds(2)) async {
        var pending = config.volumes.filter { $0.members.contains(node) && (try? ownership($0.name))?.owner == node }
        var attempt = 0
        while !pending.isEmpty && !Task.isCancelled {
            if attempt > 0 { try? await Task.sleep(for: attempt < attempts ? pause : pause * 5) }
            attempt += 1
            if attempt == attempts { warnUnreconciled(pending) }
            var waiting: [VolumeSettings] = []
            for volume in pending {
                guard let known = try? ownership(volume.name) else { continue }
                let (answered, highest) = await survey(volume, from: known)
                do {
                    try await locks.withLock(volume.name) {
                        if highest.epoch > known.epoch {
                            try await fence(volume, owner: highest.owner, epoch: highest.epoch)
                        } else {
                            try await decide(volume) {
                                $0.reconcileAtStart(answered: answered, highest: OwnerRecord(owner: highest.owner, epoch: highest.epoch))
                            }
                        }
                    }
                } catch let refusal as OwnershipRefusal where refusal.code == .unconfirmed {
                    waiting.append(volume)
                } catch {
                    logger.error("reconciling \(volume.name) at start: \(error)")
                    noteError(volume.name, "\(error)")
                }
            }
            pending = waiting.filter { (try? ownership($0.name))?.owner == node }
        }
    }

    /// Still asking, a minute in: say why the container is not started (asking goes on).
    private func warnUnreconciled(_ volumes: [VolumeSettings]) {
        for volume in volumes where volume.hooks.start != nil {
            let message = "no other member of \(volume.name) answers, so \(node) cannot rule out a failover while it was down; "
                + "it does not start the container until one answers (it keeps asking). "
                + "Start it now with `barge failover \(volume.name) --to \(node)` if you know this node still owns it"
            logger.warning("\(message)")
            noteError(volume.name, message)
        }
    }

    /// A replica refused an offer as stale or from a non-owner: ask the
    /// members, and fence if one of them owns the volume at a higher epoch.
    func checkOwnership(_ volume: String) async {
        guard let settings = config.volume(named: volume), let known = try? ownership(volume), known.owner == node else { return }
        let highest = await survey(settings, from: known).highest
        guard highest.epoch > known.epoch else { return }
        do { try await locks.withLock(volume) { try await fence(settings, owner: highest.owner, epoch: highest.epoch) } } catch {
            logger.error("fencing \(volume): \(error)")
        }
    }

    /// Asks every other member who owns the volume: whether any answered, and
    /// the highest record among theirs and `known`.
    private func survey(_ volume: VolumeSettings, from known: Ownership) async -> (answered: Bool, highest: Ownership) {
        var answered = false, highest = known
        for member in volume.members where member != node {
            guard case let .ownership(_, owner, epoch, _)? = try? await ask(member, .queryOwnership(volume: volume.name),
                                                                           deadline: .seconds(5)) else { continue }
            answered = true
            if epoch > highest.epoch { highest = Ownership(volume: volume.name, owner: owner, epoch: epoch) }
        }
        return (answered, highest)
    }
}
