import Foundation
import Synchronization

/// Open read descriptors of pack files, shared by all readers. pread(2) on one
/// descriptor is safe from many threads. A descriptor is closed only when no
/// read is using it: gc evicts packs while the agent's readers run.
final class PackFiles: Sendable {
    let directory: String
    private final class Descriptor: @unchecked Sendable {
        let fd: Int32
        var users = 0
        var evicted = false
        init(_ fd: Int32) { self.fd = fd }
    }
    private let descriptors = Mutex<[Int64: Descriptor]>([:])

    init(directory: String) { self.directory = directory }

    deinit {
        descriptors.withLock { for entry in $0.values { close(entry.fd) } }
    }

    func path(of pack: Int64) -> String { directory + "/" + PackFormat.fileName(pack: pack) }

    /// Runs `body` with the pack's descriptor, which stays open until it returns.
    func withDescriptor<T>(for pack: Int64, _ body: (Int32) throws -> T) throws -> T {
        let result: Result<Descriptor, RepositoryError> = descriptors.withLock { table in
            if let entry = table[pack] { entry.users += 1; return .success(entry) }
            let fd = open(path(of: pack), O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                return .failure(RepositoryError(code == ENOENT ? .missing : .io,
                                                "pack \(PackFormat.fileName(pack: pack)) cannot be opened: \(String(cString: strerror(code)))",
                                                hint: "run `barge verify` to see which snapshots are affected"))
            }
            let entry = Descriptor(fd)
            entry.users = 1
            table[pack] = entry
            return .success(entry)
        }
        let entry = try result.get()
        defer {
            descriptors.withLock { _ in
                entry.users -= 1
                if entry.evicted && entry.users == 0 { close(entry.fd) }
            }
        }
        return try body(entry.fd)
    }

    /// Asks the kernel to start reading these ranges now (posix_fadvise WILLNEED).
    func prefetch(pack: Int64, from start: Int, to end: Int) {
        _ = try? withDescriptor(for: pack) { fd in
            posix_fadvise(fd, off_t(start), off_t(end - start), Int32(POSIX_FADV_WILLNEED))
        }
    }

    /// Forgets a descriptor, e.g. after gc replaced the pack; reads in flight keep theirs.
    func evict(_ pack: Int64) {
        descriptors.withLock { table in
            guard let entry = table.removeValue(forKey: pack) else { return }
            if entry.users == 0 { close(entry.fd) } else { entry.evicted = true }
        }
    }

    /// Drops every cached descriptor (reads in flight keep theirs).
    func evictAll() {
        descriptors.withLock { table in
            for entry in table.values {
                if entry.users == 0 { close(entry.fd) } else { entry.evicted = true }
            }
            table.removeAll()
        }
    }

    /// Reads exactly `count` bytes at `offset`, or throws.
    func read(pack: Int64, offset: Int, count: Int) throws -> [UInt8] {
        try withDescriptor(for: pack) { fd in try read(fd: fd, pack: pack, offset: offset, count: count) }
    }

    private func read(fd: Int32, pack: Int64, offset: Int, count: Int) throws -> [UInt8] {
        var failure: RepositoryError?
        // Uninitialized: every byte is overwritten by pread or the array is dropped.
        let buffer = [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
            var done = 0
            while done < count {
                let got = pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
                if got < 0 && errno == EINTR { continue }
                if got < 0 {
                    failure = RepositoryError.system("pread", path: path(of: pack))
                    break
                }
                if got == 0 {
                    failure = RepositoryError(.corrupt, "pack \(PackFormat.fileName(pack: pack)) ends at \(offset + done), the index expects \(count - done) more bytes",
                                              hint: "run `barge verify` to see which snapshots are affected")
                    break
                }
                done += got
            }
            initialized = failure == nil ? count : 0
        }
        if let failure { throw failure }
        return buffer
    }
}
