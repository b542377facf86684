import Foundation
import Synchronization

/// Open read descriptors of pack files, shared by all readers. pread(2) on one
/// descriptor is safe from many threads.
final class PackFiles: Sendable {
    let directory: String
    private let descriptors = Mutex<[Int64: Int32]>([:])

    init(directory: String) { self.directory = directory }

    deinit {
        descriptors.withLock { for fd in $0.values { close(fd) } }
    }

    func path(of pack: Int64) -> String { directory + "/" + PackFormat.fileName(pack: pack) }

    func descriptor(for pack: Int64) throws -> Int32 {
        let result: Result<Int32, RepositoryError> = descriptors.withLock { table in
            if let fd = table[pack] { return .success(fd) }
            let fd = open(path(of: pack), O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                return .failure(RepositoryError(code == ENOENT ? .missing : .io,
                                                "pack \(PackFormat.fileName(pack: pack)) cannot be opened: \(String(cString: strerror(code)))",
                                                hint: "run `barge verify` to see which snapshots are affected"))
            }
            table[pack] = fd
            return .success(fd)
        }
        return try result.get()
    }

    /// Asks the kernel to start reading these ranges now (posix_fadvise WILLNEED).
    func prefetch(pack: Int64, from start: Int, to end: Int) {
        guard let fd = try? descriptor(for: pack) else { return }
        _ = posix_fadvise(fd, off_t(start), off_t(end - start), Int32(POSIX_FADV_WILLNEED))
    }

    /// Forgets a descriptor, e.g. after gc replaced the pack.
    func evict(_ pack: Int64) {
        descriptors.withLock { table in
            if let fd = table.removeValue(forKey: pack) { close(fd) }
        }
    }

    /// Reads exactly `count` bytes at `offset`, or throws.
    func read(pack: Int64, offset: Int, count: Int) throws -> [UInt8] {
        let fd = try descriptor(for: pack)
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
