import Foundation

/// A store used once and thrown away: the import a bare-machine restore reads from
/// (`restore --offsite` without a state dir). It is never synced (`Store.Durability.scratch`)
/// and is removed before the restored tree's final sync, so its pages are dropped, not written:
/// a restore writes the volume's bytes to disk once, not twice.
///
/// Unsynced bytes survive a killed process but not a power cut: a marker names the boot the
/// store was written in, and a store from another boot (or without the marker) is removed
/// and the import starts over. A killed import is resumed in the same boot.
public enum ScratchStore {
    static let markerName = "scratch-boot-id"

    /// Opens the scratch store at `directory` for writing: the one of this boot, or a new one.
    /// Refuses a directory that is not a barge store, leaving it untouched.
    public static func open(at directory: String) throws -> Store {
        let marker = directory + "/" + markerName
        let boot = currentBoot()
        if FileManager.default.fileExists(atPath: directory) {
            let written = try? String(contentsOfFile: marker, encoding: .utf8)
            if let boot, written == boot, FileManager.default.fileExists(atPath: Store.indexPath(in: directory)) {
                return try Store(at: directory, access: .write, durability: .scratch)
            }
            try remove(directory)
        }
        guard mkdir(directory, 0o700) == 0 else {
            throw RepositoryError.system("mkdir", path: directory, hint: "check that the parent exists and is writable")
        }
        // The marker is durable before anything unsynced exists: a store without it is never trusted.
        try writeDurably(Array((boot ?? "unknown").utf8), to: marker, in: directory)
        return try Store.initialize(at: directory, durability: .scratch)
    }

    /// Removes a scratch store (or what a crash left of one); refuses anything else.
    public static func remove(_ directory: String) throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let ours: Set<String> = [markerName, "index.sqlite", "index.sqlite-wal", "index.sqlite-shm", "packs",
                                 "write.lock", "gc.lock", "offsite-cache"]
        guard names.allSatisfy({ ours.contains($0) }) else {
            throw RepositoryError(.invalidArgument, "\(directory) holds files barge did not write (\(names.filter { !ours.contains($0) }.prefix(3).joined(separator: ", "))); not removing it",
                                  hint: "move it away: the restore uses this path for its scratch store")
        }
        do { try FileManager.default.removeItem(atPath: directory) } catch {
            throw RepositoryError(.io, "cannot remove the scratch store \(directory)", hint: "remove it by hand and retry", underlying: error)
        }
    }

    private static func writeDurably(_ bytes: [UInt8], to path: String, in directory: String) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RepositoryError.system("open", path: path) }
        defer { close(fd) }
        let wrote = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard wrote == bytes.count, fsync(fd) == 0 else { throw RepositoryError.system("write", path: path) }
        let parent = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { throw RepositoryError.system("open", path: directory) }
        defer { close(parent) }
        guard fsync(parent) == 0 else { throw RepositoryError.system("fsync", path: directory) }
    }

    /// The kernel's id of this boot; nil when unreadable (then no scratch store is ever reused).
    static func currentBoot() -> String? {
        guard let id = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let trimmed = id.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}
