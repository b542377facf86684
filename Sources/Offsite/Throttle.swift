/// A token bucket shared by every transfer of one target: a transfer waits once the
/// process is ahead of its allowance.
actor Throttle {
    private let bytesPerSecond: Double
    private var available: Double
    private var last = ContinuousClock.now

    init(bytesPerSecond: Int) {
        self.bytesPerSecond = Double(max(1024, bytesPerSecond))
        available = self.bytesPerSecond / 4
    }

    func spend(_ bytes: Int) async {
        let now = ContinuousClock.now
        let elapsed = now - last
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        available = min(bytesPerSecond / 4, available + seconds * bytesPerSecond)
        last = now
        available -= Double(bytes)
        if available < 0 {
            try? await Task.sleep(for: .nanoseconds(Int64(-available / bytesPerSecond * 1e9)))
        }
    }
}
