import Agent
import ArgumentParser
import Foundation
import Synchronization

/// Started by the agent beside each container under `[cluster]`; not for people.
struct GuardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard", abstract: "Stop a container with its hook once the agent stops renewing its deadline (started by the agent).",
        shouldDisplay: false)

    @Option var deadlineFile: String
    @Option var volume: String
    @Option var path: String
    @Option var epoch: UInt64
    @Option var timeout: Double
    @Option var stop: String

    func run() throws {
        let status = Mutex<Int32>(0)
        let done = DispatchSemaphore(value: 0)
        let (file, volume, path, epoch, timeout, stop) = (deadlineFile, volume, path, epoch, timeout, stop)
        Task {
            let code = await GuardProcess.run(deadlineFile: file, volume: volume, path: path, epoch: epoch, timeout: timeout, stop: stop)
            status.withLock { $0 = code }
            done.signal()
        }
        done.wait()
        let code = status.withLock { $0 }
        if code != 0 { throw ExitCode(code) }
    }
}
