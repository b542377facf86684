import ArgumentParser
import Foundation
import CLinux
import Control
import Identity
import Offsite
import Repository

/// The root command. Subcommands live one per file.
public struct Barge: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "barge",
        abstract: "Snapshots, replicates and moves the state of containers between nodes.",
        discussion: """
            Exit codes: 0 ok · 1 error (including damage found by verify) · 2 usage · 3 done, with entries skipped or warnings printed.
            The state directory is --state-dir, else $BARGE_STATE_DIR, else /var/lib/barge.
            """,
        subcommands: [InitCommand.self, VolumeCommand.self, SnapshotCommand.self, SnapshotsCommand.self,
                      RestoreCommand.self, DiffCommand.self, VerifyCommand.self, RepairIndexCommand.self, ForgetCommand.self, GCCommand.self,
                      AgentCommand.self, CertCommand.self, StatusCommand.self, ReplicateCommand.self,
                      MigrateCommand.self, FailoverCommand.self, DrainCommand.self, ClusterCommand.self, GuardCommand.self,
                      OffsiteCommand.self]
    )

    public init() {}
}

/// Documented exit codes.
public enum ExitStatus: Int32 {
    case ok = 0
    case error = 1
    case usage = 2
    case partial = 3
}

/// The thin executable calls this.
public enum BargeMain {
    /// A scan holds a directory descriptor per level on two threads plus up to
    /// 256 walked ahead, a restore up to 2,048 open files: a shell's soft limit
    /// of 1024 could turn a deep tree into skipped entries. Up to the hard
    /// limit is ours to take (epoll everywhere, no select).
    static func raiseOpenFileLimit() {
        let openFiles = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(openFiles, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 1 << 20)
        _ = setrlimit(openFiles, &limit)
    }

    /// glibc raises its mmap threshold to the size of each large block freed, after which
    /// buffers of a pack's size (16 MiB, several threads) come from heap arenas and stay in
    /// the RSS after use. A fixed threshold keeps them mmapped, so they are returned at once.
    static func returnLargeBuffers() {
        _ = barge_fix_mmap_threshold(1 << 20)
    }

    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        raiseOpenFileLimit()
        returnLargeBuffers()
        let arguments = GlobalOptions.hoistStateDirectory(arguments)
        do {
            var command = try Barge.parseAsRoot(arguments)
            try command.run()
            exit(ExitStatus.ok.rawValue)
        } catch let error as RepositoryError {
            Terminal.error(error.description)
            exit(ExitStatus.error.rawValue)
        } catch let error as ControlFailure {
            Terminal.error(error.description)
            exit(error.exitCode)
        } catch let error as OffsiteError {
            Terminal.error(error.message, hint: error.hint)
            exit(ExitStatus.error.rawValue)
        } catch let error as IdentityError {
            Terminal.error(error.description)
            exit(ExitStatus.error.rawValue)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let status = Barge.exitCode(for: error)
            if status == .success {
                print(Barge.fullMessage(for: error))
                exit(ExitStatus.ok.rawValue)
            }
            Terminal.error(Barge.fullMessage(for: error))
            exit(status == .validationFailure ? ExitStatus.usage.rawValue : ExitStatus.error.rawValue)
        }
    }
}
