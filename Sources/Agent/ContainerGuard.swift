import AgentConfig
import Dispatch
import Foundation
import Synchronization

/// Under `[cluster]`, every container this node starts gets a guard: a
/// separate `barge guard` process that runs the volume's stop hook once the
/// deadline in `STATE/guard/VOLUME.deadline` (monotonic ns, rewritten by the
/// agent at every confirmed keepalive) has passed. An agent that is frozen
/// (SIGSTOP, a stalled VM) or killed cannot stop its containers itself; its
/// guard, a process of its own, still does, before another node can be elected.
///
/// A guard that fires first renames the file to `VOLUME.fired`: the agent
/// finds that marker at its next confirmed keepalive, so a container its guard
/// stopped (a keepalive late by a few ms) is not taken for running.
final class ContainerGuards: Sendable {
    let directory: String
    private let guarded = Mutex<Set<String>>([])

    init(stateDirectory: String) { directory = stateDirectory + "/guard" }

    func deadlinePath(_ volume: String) -> String { directory + "/" + volume + ".deadline" }

    /// Left by a guard that stopped its container.
    static func firedPath(deadlineFile: String) -> String { deadlineFile + ".fired" }

    /// Writes the first deadline, then starts the guard for a container that was just started.
    func start(_ volume: VolumeSettings, epoch: UInt64, deadline: UInt64, barge: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try write(deadline, for: volume.name)
        unlink(Self.firedPath(deadlineFile: deadlinePath(volume.name)))
        guard let stop = volume.hooks.stop else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: barge)
        process.arguments = ["guard", "--deadline-file", deadlinePath(volume.name), "--volume", volume.name, "--path", volume.path,
                             "--epoch", String(epoch), "--timeout", String(volume.hooks.timeoutSeconds), "--stop", stop]
        process.standardInput = FileHandle.nullDevice
        try process.run()
        guarded.withLock { _ = $0.insert(volume.name) }
    }

    /// The container was stopped by the agent: its guard exits when the file is gone.
    func stop(_ volume: String) {
        guarded.withLock { _ = $0.remove(volume) }
        unlink(deadlinePath(volume))
        unlink(Self.firedPath(deadlineFile: deadlinePath(volume)))
    }

    /// A keepalive was confirmed: every guard's deadline moves to `deadline`.
    /// Returns the volumes whose guard had fired already: their containers are
    /// stopped, and those guards are gone.
    func extend(to deadline: UInt64) -> [String] {
        var fired: [String] = []
        for volume in guarded.withLock({ $0 }) {
            try? write(deadline, for: volume)
            // Looked for after the write: a guard that claims the new file later is found next time.
            let marker = Self.firedPath(deadlineFile: deadlinePath(volume))
            if access(marker, F_OK) == 0 {
                stop(volume)
                fired.append(volume)
            }
        }
        return fired
    }

    private func write(_ deadline: UInt64, for volume: String) throws {
        // A rename, so the guard never reads half a number.
        let path = deadlinePath(volume), temporary = path + ".tmp"
        try Data(String(deadline).utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw MoveError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    /// The guard's loop (`barge guard`): returns true once the deadline passed and the guard
    /// claimed the file (renamed it to the fired marker), false once the file is gone (the
    /// agent stopped the container itself).
    static func watch(deadlineFile: String, poll: Duration = .milliseconds(20)) -> Bool {
        while true {
            guard let text = try? String(contentsOfFile: deadlineFile, encoding: .utf8) else { return false }
            if let deadline = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)), DispatchTime.now().uptimeNanoseconds >= deadline {
                // Fails only if the agent removed the file meanwhile: then it stopped the container.
                return rename(deadlineFile, firedPath(deadlineFile: deadlineFile)) == 0
            }
            Thread.sleep(forTimeInterval: Double(poll.components.attoseconds) / 1e18 + Double(poll.components.seconds))
        }
    }
}

/// `barge guard`: waits for the deadline, then stops the container with its hook.
public enum GuardProcess {
    public static func run(deadlineFile: String, volume: String, path: String, epoch: UInt64, timeout: Double, stop: String) async -> Int32 {
        setsid()   // not in the agent's process group: a signal to the agent's group does not reach it
        guard ContainerGuards.watch(deadlineFile: deadlineFile) else { return 0 }
        let outcome = try? await HookRunner.run(stop, event: .stop, volume: volume, path: path, epoch: epoch, timeout: timeout)
        FileHandle.standardError.write(Data("barge guard: the agent did not renew its lease in time; ran the stop hook of \(volume): \(outcome.map { $0.succeeded ? "ok" : "failed" } ?? "failed")\n".utf8))
        return outcome?.succeeded == true ? 0 : 1
    }
}
