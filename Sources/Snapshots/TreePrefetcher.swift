import CLinux
import Foundation
import Synchronization

/// For a first snapshot, where every file is read: a second thread walks the
/// volume in the scanner's order and asks the kernel to read files ahead
/// (posix_fadvise WILLNEED), staying at most `window` bytes ahead of what
/// the scanner has consumed. On a cold cache this turns one disk wait per
/// file into reads that overlap the hashing and compressing. It starts at the
/// first file not in the page cache: on a warm tree its walk (an open, a stat
/// and an fadvise per file) cost 5% of the snapshot's CPU for nothing.
final class TreePrefetcher: @unchecked Sendable {
    private let root: String
    private let crossMounts: Bool
    private let window: Int
    private let consumed = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private var requested = 0
    private var rootDevice: UInt64 = 0
    private static let perFile = 8 << 20

    init(root: String, crossMounts: Bool, window: Int = 96 << 20) {
        self.root = root
        self.crossMounts = crossMounts
        self.window = window
    }

    private(set) var started = false

    /// Starts the walk once: the scanner calls this when it meets a file the
    /// page cache does not hold (a warm tree never pays for the walk).
    func start() {
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 {
                rootDevice = FileSystem.status(of: fd)?.device ?? 0
                walk(fd)
                close(fd)
            }
            done.signal()
        }
        thread.name = "barge.prefetch"
        thread.start()
    }

    /// The scanner read `bytes` more.
    func consume(_ bytes: Int) { consumed.add(bytes, ordering: .relaxed) }

    func stop() {
        guard started else { return }
        stopped.store(true, ordering: .relaxed)
        done.wait()
    }

    private func walk(_ directory: Int32) {
        guard case .success(let names) = FileSystem.names(in: directory) else { return }
        for name in names {
            if stopped.load(ordering: .relaxed) { return }
            guard case .success(let status) = FileSystem.status(at: directory, name) else { continue }
            if status.device != rootDevice && !crossMounts { continue }
            switch status.kind {
            case .directory:
                let child = FileSystem.open(at: directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
                guard child >= 0 else { continue }
                walk(child)
                close(child)
            case .file where status.size > 0:
                let fd = FileSystem.open(at: directory, name, O_RDONLY | O_NOFOLLOW | barge_o_noatime())
                guard fd >= 0 else { continue }
                defer { close(fd) }
                // Large files in steps, so this thread (not the scanner) waits
                // on the kernel, and never more than `window` ahead.
                var offset = 0
                while offset < Int(status.size) {
                    while requested - consumed.load(ordering: .relaxed) > window {
                        if stopped.load(ordering: .relaxed) { return }
                        usleep(500)
                    }
                    let step = min(Self.perFile, Int(status.size) - offset)
                    _ = posix_fadvise(fd, off_t(offset), off_t(step), Int32(POSIX_FADV_WILLNEED))
                    requested += step
                    offset += step
                }
            default:
                continue
            }
        }
    }
}
