import CLinux
import Glibc

/// Opens the next files a directory scan will read and asks the kernel to
/// start reading them (posix_fadvise WILLNEED), so that on a cold cache the
/// disk works on the next files while the current one is cut and hashed.
/// Bounded by a file count and a byte budget; paused while a subdirectory is
/// scanned, so only the deepest directory holds descriptors.
final class ReadAhead {
    private let directory: Int32
    private var queue: [(name: [UInt8], size: UInt64)]
    private var positions: [[UInt8]: Int] = [:]
    private var next = 0
    /// Index of the first file not yet taken: files are taken in queue order.
    private var position = 0
    private var open: [[UInt8]: Int32] = [:]
    private var budget: UInt64
    private static let maxFiles = 32
    private static let maxBytes: UInt64 = 64 << 20
    private static let perFile: UInt64 = 8 << 20

    /// `files`: the regular files to be read, in the order they will be read.
    init(directory: Int32, files: [(name: [UInt8], size: UInt64)]) {
        self.directory = directory
        self.queue = files
        for (index, file) in files.enumerated() { positions[file.name] = index }
        self.budget = Self.maxBytes
        fill()
    }

    deinit { for fd in open.values { close(fd) } }

    /// The descriptor opened for `name`, if any; the caller closes it.
    func take(_ name: [UInt8]) -> Int32? {
        guard let index = positions[name] else { return nil }
        position = max(position, index + 1)
        guard let fd = open.removeValue(forKey: name) else { return nil }
        budget += min(queue[index].size, Self.perFile)
        fill()
        return fd
    }

    /// Closes what is open (the kernel keeps reading); `resume` opens it again.
    func pause() {
        for fd in open.values { close(fd) }
        open.removeAll()
        budget = Self.maxBytes
        next = position
    }

    func resume() { fill() }

    private func fill() {
        while next < queue.count && open.count < Self.maxFiles {
            let (name, size) = queue[next]
            let cost = min(size, Self.perFile)
            guard cost <= budget || open.isEmpty else { return }
            next += 1
            var fd = FileSystem.open(at: directory, name, O_RDONLY | O_NOFOLLOW | barge_o_noatime())
            if fd < 0 && errno == EPERM { fd = FileSystem.open(at: directory, name, O_RDONLY | O_NOFOLLOW) }
            guard fd >= 0 else { continue }
            _ = posix_fadvise(fd, 0, off_t(cost), Int32(POSIX_FADV_WILLNEED))
            open[name] = fd
            budget -= min(cost, budget)
        }
    }
}
