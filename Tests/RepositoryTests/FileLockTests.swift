import Foundation
import Testing
@testable import Repository

@Suite struct FileLockTests {
    /// A child spawned while a store is open shares its lock files' open file descriptions
    /// (here past exec, so the child keeps them as long as it lives). Closing the store must
    /// still free the locks: the next writer, and gc, open at once.
    @Test(arguments: [Store.Access.write, .exclusive])
    func aClosedStoreLeavesItsLocksFreeWhileAChildStillHoldsTheirDescriptors(next: Store.Access) throws {
        let directory = TemporaryDirectory()
        _ = try Store.initialize(at: directory.path)
        var child: pid_t = 0
        do {
            let store = try Store(at: directory.path, access: .write)
            try withExtendedLifetime(store) {
                let inherited = ["write.lock", "gc.lock"].compactMap { descriptor(of: directory.path + "/" + $0) }
                #expect(inherited.count == 2)
                child = try spawnSleeper(keeping: inherited)
            }
        }
        defer {
            kill(child, SIGKILL)
            var status: Int32 = 0
            waitpid(child, &status, 0)
        }
        #expect(kill(child, 0) == 0, "the child still holds the descriptors")
        _ = try Store(at: directory.path, access: next)
    }

    /// The descriptor of `path` this process has open.
    private func descriptor(of path: String) -> Int32? {
        let wanted = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for name in names {
            guard let fd = Int32(name),
                  let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name),
                  target == wanted else { continue }
            return fd
        }
        return nil
    }

    /// `sleep 60` keeping `descriptors` open past exec (a dup2 onto itself clears close-on-exec).
    private func spawnSleeper(keeping descriptors: [Int32]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in descriptors { posix_spawn_file_actions_adddup2(&actions, fd, fd) }
        let arguments = ["/bin/sleep", "60"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, "/bin/sleep", &actions, nil, &argv, environ)
        try #require(code == 0, "posix_spawn: \(code)")
        return pid
    }
}
