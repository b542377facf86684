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

    /// Forgets a descriptor, e.g. after gc replaced the pack.
    func evict(_ pack: Int64) {
        descriptors.withLock { table in
            if let fd = table.removeValue(forKey: pack) { close(fd) }
        }
    }

    /// Reads exactly `count` bytes at `offset`, or throws.
    func read(pack: Int64, offset: Int, count: Int) throws -> [UInt8] {
        let fd = try descriptor(for: pack)
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, count - done, off_t(offset + done))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw RepositoryError.system("pread", path: path(of: pack))
            }
            if got == 0 {
                throw RepositoryError(.corrupt, "pack \(PackFormat.fileName(pack: pack)) ends at \(offset + done), the index expects \(count - done) more bytes",
                                      hint: "run `barge verify` to see which snapshots are affected")
            }
            done += got
        }
        return buffer
    }
}
