import AgentConfig
import Control
import Foundation
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
        guard settings.members.contains(node) else {
            throw ControlFailure(message: "\(node) is not a member of \(volume)", exitCode: 2)
        }
        return try await locks.withLock(volume) {
            let known = try ownership(volume)
            if known.owner == node {
                // Owned already (a hand-over whose start never came, or a restart that could
                // not reach any member): promote if that did not happen, then start.
                if !FileManager.default.fileExists(atPath: settings.path) { _ = try promote(settings) }
                try await startContainer(settings, epoch: known.epoch)
                let standby = try store.snapshots(volume: volume).last
                return FailoverReport(volume: volume, from: node, to: node, epoch: known.epoch, snapshot: standby?.id.hex ?? "",
                                      snapshotTime: standby.map { Self.time($0.record.timeNanoseconds) } ?? "", mayLoseSinceS: 0,
                                      promotionS: 0, started: true, forced: force)
            }
            if !force, let answer = try? await ask(known.owner, .queryOwnership(volume: volume), deadline: .seconds(5)) {
                let detail = if case let .ownership(_, owner, epoch, _) = answer { " (it says: owner \(owner), epoch \(epoch))" } else { "" }
                throw ControlFailure(message: "the owner \(known.owner) still answers\(detail); refusing to fail over",
                                     hint: "move it on purpose with `barge migrate \(volume) --to \(node)` on \(known.owner); --force if you must")
            }
            let promotionStart = Date()
            let epoch = known.epoch + 1
            // A copy cut short, or none yet: build it from the newest snapshot here first.
            let state = try store.index.standby(of: volume)
            if state?.snapshot == nil || state?.updating != nil { await updateStandbyLocked(volume) }
            let standbySnapshot = try checkPromotable(settings)
            guard let snapshot = try store.index.snapshot(standbySnapshot) else {
                throw ControlFailure(message: "the standby copy's snapshot \(standbySnapshot.short) is not in the index")
            }
            try store.index.raiseOwnership(Ownership(volume: volume, owner: node, epoch: epoch))
            _ = try promote(settings)
            let promotion = Date().timeIntervalSince(promotionStart)
            logger.notice("failed over", metadata: ["volume": "\(volume)", "from": "\(known.owner)", "epoch": "\(epoch)",
                                                    "snapshot": "\(snapshot.id.short)", "forced": "\(force)"])
            // The members first: an old owner that still answers (--force) fences itself,
            // its container stopped, before this node starts its own.
            await notifyMembers(settings, owner: node, epoch: epoch, except: [])
            var started = true
            do { try await startContainer(settings, epoch: epoch) } catch {
                started = false
                noteError(volume, "failed over, but the start hook failed: \(error)")
            }
            return FailoverReport(volume: volume, from: known.owner, to: node, epoch: epoch, snapshot: snapshot.id.hex,
                                  snapshotTime: Self.time(snapshot.record.timeNanoseconds),
                                  mayLoseSinceS: max(0, Date().timeIntervalSince1970 - Double(snapshot.record.timeNanoseconds) / 1e9),
                                  promotionS: promotion, started: started, forced: force)
        }
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
                guard answered || volume.members.count == 1 else { waiting.append(volume); continue }
                do {
                    if highest.epoch > known.epoch {
                        try await locks.withLock(volume.name) { try await fence(volume, owner: highest.owner, epoch: highest.epoch) }
                    } else if volume.hooks.start != nil {
                        try await locks.withLock(volume.name) { try await startContainer(volume, epoch: known.epoch) }
                    }
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
