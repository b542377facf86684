import Dispatch

/// Where the etcd lease is kept alive and the fence watchdog runs: threads of
/// their own (a queue of ours is overcommitting in libdispatch), not the
/// cooperative pool, which CPU-heavy work (a replication computing deltas on
/// both cores) can hold for seconds. Measured: with everything on the pool, an
/// owner replicating a 1 GiB file under write load went 2.5 s without a
/// confirmed keepalive at a 5 s TTL, fenced itself, and lost its volume.
final class LivenessExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = LivenessExecutor()
    // @unchecked: the queue is thread-safe and never replaced.
    private let queue = DispatchQueue(label: "barge.liveness", qos: .userInteractive, attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
