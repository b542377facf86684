import Glibc

/// Says when a progress report is due (ten a second), so that per-file work
/// never pays for formatting a path nobody will see.
struct ProgressThrottle {
    private var next: UInt64 = 0
    private let interval: UInt64 = 100_000_000

    mutating func due() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanoseconds = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
        guard nanoseconds >= next else { return false }
        next = nanoseconds + interval
        return true
    }
}
