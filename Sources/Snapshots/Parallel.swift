import Dispatch
import Glibc
import Synchronization

/// Runs `body` for every index in `0..<count` on up to `workers` threads.
/// `body` also receives the worker number, so each worker can own a context
/// (a zstd compressor, say) that is not thread-safe.
public enum Parallel {
    public static let defaultWorkers = max(1, min(8, System.coreCount))

    public static func forEach(_ count: Int, workers: Int, _ body: (_ index: Int, _ worker: Int) -> Void) {
        let threads = min(workers, count)
        if threads <= 1 {
            for index in 0..<count { body(index, 0) }
            return
        }
        let next = Atomic<Int>(0)
        // concurrentPerform returns only when every worker has: `body` does not escape.
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    if index >= count { return }
                    body(index, worker)
                }
            }
        }
    }
}

enum System {
    static var coreCount: Int {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return online > 0 ? online : 1
    }
}
