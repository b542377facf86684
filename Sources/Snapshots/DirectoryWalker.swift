import CLinux
import Foundation

/// One directory as the walker found it: an open descriptor, its names sorted
/// by bytes, and each name's lstat. The descriptor closes when the last holder
/// (walker or scanner) lets go.
final class WalkedDirectory: @unchecked Sendable {
    enum Contents {
        case listed(names: [[UInt8]], statuses: [Result<FileStatus, Errno>])
        /// On another file system and not crossed: opened (for its metadata), not read.
        case mountPoint
        case unreadable(call: String, Errno)
    }

    let relative: [UInt8]
    /// -1 when the directory could not be opened.
    let descriptor: Int32
    let contents: Contents

    init(relative: [UInt8], descriptor: Int32, contents: Contents) {
        self.relative = relative
        self.descriptor = descriptor
        self.contents = contents
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    var entryCount: Int {
        if case .listed(let names, _) = contents { return names.count }
        return 0
    }
}

/// The kernel half of a snapshot's walk, on its own thread: getdents64 and an
/// lstat of every name, directory after directory in the scanner's order
/// (depth first, names sorted by bytes), a bounded distance ahead. The scanner
/// compares, reads changed files and builds trees meanwhile, so an incremental
/// snapshot costs about one stat walk instead of a stat walk plus the scanner.
///
/// Every entry the walker lstat'ed as a directory yields exactly one record,
/// whether it could be opened, read, or is a mount point, and the scanner asks
/// for one record per such entry: the two never disagree on the order.
final class DirectoryWalker: @unchecked Sendable {
    private let rootDevice: UInt64
    private let crossMounts: Bool
    private let statWorkers: Int
    private let maximumDirectories: Int
    private let maximumEntries: Int
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [WalkedDirectory] = []
    private var head = 0
    private var queuedEntries = 0
    private var finished = false
    private var cancelled = false
    private let done = DispatchSemaphore(value: 0)

    /// Directories of at least this many names are stat'ed on several threads
    /// (a cold cache waits on the disk per inode).
    private static let parallelStatThreshold = 128

    /// `root` is duplicated: the caller keeps its own descriptor.
    init(root: Int32, rootDevice: UInt64, crossMounts: Bool, statWorkers: Int,
         maximumDirectories: Int = 256, maximumEntries: Int = 64 * 1024) {
        self.rootDevice = rootDevice
        self.crossMounts = crossMounts
        self.statWorkers = statWorkers
        self.maximumDirectories = maximumDirectories
        self.maximumEntries = maximumEntries
        let descriptor = fcntl(root, F_DUPFD_CLOEXEC, 0)
        let thread = Thread { [self] in
            if descriptor < 0 {
                _ = emit(WalkedDirectory(relative: [], descriptor: -1, contents: .unreadable(call: "dup", Errno(errno))))
            } else {
                walk(read(descriptor, relative: []))
            }
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
            done.signal()
        }
        thread.name = "barge.walk"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The next directory in walk order; nil only when the walk ended early
    /// (cancelled, or a scanner asking for more than there was).
    func next() -> WalkedDirectory? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count && !finished && !cancelled { condition.wait() }
        guard head < queue.count else { return nil }
        let directory = queue[head]
        head += 1
        queuedEntries -= directory.entryCount
        if head >= 64 && head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return directory
    }

    /// Stops the thread and closes every descriptor it still holds; waits for it.
    func stop() {
        condition.lock()
        cancelled = true
        queue.removeAll()
        head = 0
        condition.broadcast()
        condition.unlock()
        done.wait()
        done.signal() // stop() twice is harmless
    }

    // MARK: walker thread

    private func walk(_ directory: WalkedDirectory) {
        guard emit(directory), case .listed(let names, let statuses) = directory.contents else { return }
        for (name, result) in zip(names, statuses) {
            guard case .success(let status) = result, status.kind == .directory else { continue }
            let relative = FileSystem.join(directory.relative, name)
            let child = FileSystem.open(at: directory.descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            if child < 0 {
                guard emit(WalkedDirectory(relative: relative, descriptor: -1, contents: .unreadable(call: "open", Errno(errno)))) else { return }
            } else if status.device != rootDevice && !crossMounts {
                guard emit(WalkedDirectory(relative: relative, descriptor: child, contents: .mountPoint)) else { return }
            } else {
                walk(read(child, relative: relative))
                if isCancelled { return }
            }
        }
    }

    private func read(_ descriptor: Int32, relative: [UInt8]) -> WalkedDirectory {
        switch FileSystem.names(in: descriptor) {
        case .failure(let error):
            return WalkedDirectory(relative: relative, descriptor: descriptor, contents: .unreadable(call: "readdir", error))
        case .success(let names):
            let workers = names.count >= Self.parallelStatThreshold ? statWorkers : 1
            let statuses = FileSystem.statuses(at: descriptor, names, workers: workers)
            return WalkedDirectory(relative: relative, descriptor: descriptor, contents: .listed(names: names, statuses: statuses))
        }
    }

    private var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Queues a record, waiting while the scanner is far enough behind; false once cancelled.
    private func emit(_ directory: WalkedDirectory) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && head < queue.count
                && (queue.count - head >= maximumDirectories || queuedEntries + directory.entryCount > maximumEntries) {
            condition.wait()
        }
        guard !cancelled else { return false }
        queue.append(directory)
        queuedEntries += directory.entryCount
        condition.broadcast()
        return true
    }
}
