import CLinux
import Foundation

/// Why a hook ran; passed to it as BARGE_EVENT.
enum HookEvent: String, Sendable {
    case start, stop
    case preSnapshot = "pre_snapshot"
    case postSnapshot = "post_snapshot"
}

struct HookOutcome: Sendable {
    let exitStatus: Int32?
    let timedOut: Bool
    let seconds: Double
    /// The end of what the hook printed (stdout and stderr together).
    let output: String
    var succeeded: Bool { exitStatus == 0 && !timedOut }
}

/// Runs a volume's hook through `/bin/sh -c` in its own process group, with
/// BARGE_VOLUME, BARGE_PATH, BARGE_EPOCH and BARGE_EVENT set. At the timeout
/// the whole group gets SIGTERM, then SIGKILL two seconds later: a container
/// command that hangs cannot hold a migration forever.
enum HookRunner {
    static let outputLimit = 4096

    static func run(_ command: String, event: HookEvent, volume: String, path: String, epoch: UInt64,
                    timeout: Double) async throws -> HookOutcome {
        try await Blocking.run { try runBlocking(command, event: event, volume: volume, path: path, epoch: epoch, timeout: timeout) }
    }

    private static func runBlocking(_ command: String, event: HookEvent, volume: String, path: String, epoch: UInt64,
                                    timeout: Double) throws -> HookOutcome {
        let started = Date()
        let outputPath = NSTemporaryDirectory() + "barge-hook-\(getpid())-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(outputPath) }
        var environment = ProcessInfo.processInfo.environment
        environment["BARGE_VOLUME"] = volume
        environment["BARGE_PATH"] = path
        environment["BARGE_EPOCH"] = String(epoch)
        environment["BARGE_EVENT"] = event.rawValue
        let pid = try spawn(["/bin/sh", "-c", command], environment: environment, output: outputPath)
        var status: Int32 = 0
        var timedOut = false
        var signalled = false
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR { throw HookError("waitpid for the \(event.rawValue) hook failed: \(String(cString: strerror(errno)))") }
            let elapsed = Date().timeIntervalSince(started)
            if elapsed > timeout && !timedOut {
                timedOut = true
                kill(-pid, SIGTERM)
            } else if timedOut && !signalled && elapsed > timeout + 2 {
                signalled = true
                kill(-pid, SIGKILL)
            }
            usleep(10_000)
        }
        // Children the hook left behind in its group are not ours to keep.
        if timedOut { kill(-pid, SIGKILL) }
        let exited = (status & 0x7f) == 0
        let data = (try? Data(contentsOf: URL(fileURLWithPath: outputPath))) ?? Data()
        let output = String(decoding: data.suffix(outputLimit), as: UTF8.self)
        return HookOutcome(exitStatus: exited ? (status >> 8) & 0xff : nil, timedOut: timedOut,
                           seconds: Date().timeIntervalSince(started), output: output)
    }

    private static func spawn(_ arguments: [String], environment: [String: String], output: String) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing of the agent's (peer sockets, the control socket, the store) leaks into a
        // container a hook starts; a daemon holding them would also outlive the agent's exit.
        guard barge_spawn_close_from(&actions, 3) == 0 else { throw HookError("cannot prepare the hook's descriptors") }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw HookError("cannot start /bin/sh for a hook: \(String(cString: strerror(result)))") }
        return pid
    }
}

struct HookError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
