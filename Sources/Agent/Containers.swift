import AgentConfig
import Foundation
import Synchronization

/// Which volumes' containers this agent started and has not stopped.
final class Containers: Sendable {
    private let up = Mutex<[String: Bool]>([:])

    func set(_ volume: String, running: Bool) { up.withLock { $0[volume] = running } }
    func isRunning(_ volume: String) -> Bool? { up.withLock { $0[volume] } }
}

/// A hook that failed or timed out, with what it printed.
struct HookFailure: Error, CustomStringConvertible {
    let event: HookEvent
    let volume: String
    let outcome: HookOutcome

    var description: String {
        let how = outcome.timedOut ? "timed out after \(String(format: "%.1f", outcome.seconds)) s"
                                   : "exited with \(outcome.exitStatus.map(String.init) ?? "a signal")"
        let output = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return "the \(event.rawValue) hook of \(volume) \(how)" + (output.isEmpty ? "" : ": \(output.suffix(500))")
    }
}

extension AgentCore {
    /// Runs one of the volume's hooks if it has one; throws HookFailure when it fails.
    @discardableResult
    func runHook(_ event: HookEvent, _ volume: VolumeSettings, epoch: UInt64) async throws -> HookOutcome? {
        let command: String?
        switch event {
        case .start: command = volume.hooks.start
        case .stop: command = volume.hooks.stop
        case .preSnapshot: command = volume.hooks.preSnapshot
        case .postSnapshot: command = volume.hooks.postSnapshot
        }
        guard let command else { return nil }
        let outcome = try await HookRunner.run(command, event: event, volume: volume.name, path: volume.path,
                                               epoch: epoch, timeout: volume.hooks.timeoutSeconds)
        logger.info("hook ran", metadata: ["volume": "\(volume.name)", "event": "\(event.rawValue)",
                                           "status": "\(outcome.exitStatus.map(String.init) ?? "signal")",
                                           "timed_out": "\(outcome.timedOut)", "seconds": "\(outcome.seconds)"])
        guard outcome.succeeded else {
            metrics.error("hook")
            throw HookFailure(event: event, volume: volume.name, outcome: outcome)
        }
        return outcome
    }

    func startContainer(_ volume: VolumeSettings, epoch: UInt64) async throws {
        // A roll-back cut short may have left the volume half changed: nothing runs on it until one finishes.
        if let mark = try? store.index.rollbackMark(of: volume.name) {
            throw MoveError("the roll-back of \(volume.name) to \(mark.target.short) did not finish: the volume may be half rolled back, so its container is not started",
                            hint: "run `barge restore \(volume.name) --snapshot \(mark.target.short) --in-place` again, or `--snapshot \(mark.preRestore.short)` to undo")
        }
        let cluster = coordinator.withLock { $0 }
        if let cluster {
            // Under [cluster]: only with a good part of the lease ahead, and the guard first
            // (once the last one has exited: it may still be running the stop hook).
            try await guards.settle(volume)
            guard let deadline = cluster.fenceDeadline, deadline > ClusterCoordinator.now() + cluster.startMargin else {
                throw MoveError("\(node) cannot prove its etcd lease for long enough to start \(volume.name) now; it retries after the next keepalive")
            }
            try await cluster.confirmOwner(volume.name, token: epoch)
            try guards.start(volume, epoch: epoch, deadline: deadline, barge: Self.executable)
        }
        do { try await runHook(.start, volume, epoch: epoch) } catch {
            guards.stop(volume.name)
            throw error
        }
        containers.set(volume.name, running: true)
        if let cluster, cluster.fenceDeadline.map({ ClusterCoordinator.now() >= $0 }) ?? true {
            // The lease lapsed while the hook ran: another node may be elected now. Stop again at once.
            try? await stopContainer(volume, epoch: epoch)
            throw MoveError("the start hook of \(volume.name) outlasted \(node)'s proof of its etcd lease; stopped again",
                            hint: "start hooks must finish well within lease_ttl / 2; raise [cluster] lease_ttl")
        }
    }

    /// Stops the container; a volume without a stop hook counts as stopped.
    func stopContainer(_ volume: VolumeSettings, epoch: UInt64) async throws {
        try await runHook(.stop, volume, epoch: epoch)
        guards.stop(volume.name)
        containers.set(volume.name, running: false)
    }

    /// This barge binary, for the guard processes.
    static let executable: String = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
