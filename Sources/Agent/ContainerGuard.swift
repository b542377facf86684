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
/// A guard that fires first renames the file to `VOLUME.deadline.fired`: the
/// agent finds that marker at its next confirmed keepalive, so a container its
/// guard stopped (a keepalive late by a few ms) is not taken for running.
final class ContainerGuards: Sendable {
    let directory: String
    private let guarded = Mutex<Set<String>>([])
    /// The newest guard process of each volume; it may outlive its file while it runs the stop hook.
    private let processes = Mutex<[String: pid_t]>([:])

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
        processes.withLock { $0[volume.name] = process.processIdentifier }
    }

    /// Waits until the last guard of `volume` has exited. One that fired may still be running
    /// the stop hook, which would stop a container started meanwhile; it exits within the
    /// hook's timeout (plus the 2 s before SIGKILL). Call before the start hook.
    func settle(_ volume: VolumeSettings) async throws {
        guard let pid = processes.withLock({ $0[volume.name] }) else { return }
        let limit = ContinuousClock.now + .seconds(volume.hooks.timeoutSeconds + 5)
        while Self.isRunning(pid) {
            guard ContinuousClock.now < limit else {
                throw MoveError("the guard of \(volume.name) (pid \(pid)) is still running the stop hook; the container is not started meanwhile",
                                hint: "look for a stop hook that does not end; the agent retries at its next sweep")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        processes.withLock { if $0[volume.name] == pid { $0[volume.name] = nil } }
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
            // A guard that claims its file after this look is found at the next extension.
            if access(Self.firedPath(deadlineFile: deadlinePath(volume)), F_OK) == 0 {
                stop(volume)
                fired.append(volume)
            } else {
                try? write(deadline, for: volume)
            }
        }
        return fired
    }

    /// Whether the process exists and has not exited (an exited one not reaped yet is a zombie).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
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
