import Foundation

/// A token bucket: a sender sleeps once it is ahead of its allowance.
final class BandwidthLimiter {
    private let bytesPerSecond: Double
    private var available: Double
    private var last = Date()

    init(bytesPerSecond: Int) {
        self.bytesPerSecond = Double(max(1024, bytesPerSecond))
        // A quarter of a second of burst keeps the pipe full without overshooting.
        self.available = self.bytesPerSecond / 4
    }

    func spend(_ bytes: Int) async {
        let now = Date()
        available = min(bytesPerSecond / 4, available + now.timeIntervalSince(last) * bytesPerSecond)
        last = now
        available -= Double(bytes)
        if available < 0 {
            try? await Task.sleep(nanoseconds: UInt64(-available / bytesPerSecond * 1e9))
        }
    }
}
