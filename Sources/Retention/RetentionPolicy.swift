/// Which snapshots of a volume to keep, in the vocabulary of restic, sanoid
/// and zrepl. Counts keep the newest snapshot of each of the last N calendar
/// hours, days, ISO weeks, months or years that have one (UTC); `within`
/// keeps everything taken within that many seconds of the newest snapshot
/// that is not in the future.
/// `diverged` and `pre-restore` snapshots follow only `keepDivergedSeconds`
/// (age against now); without it they stay until named.
public struct RetentionPolicy: Sendable, Equatable, Codable {
    public var last: Int
    public var hourly: Int
    public var daily: Int
    public var weekly: Int
    public var monthly: Int
    public var yearly: Int
    public var withinSeconds: Int64
    public var keepDivergedSeconds: Int64?

    public init(last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, monthly: Int = 0, yearly: Int = 0,
                withinSeconds: Int64 = 0, keepDivergedSeconds: Int64? = nil) {
        self.last = last
        self.hourly = hourly
        self.daily = daily
        self.weekly = weekly
        self.monthly = monthly
        self.yearly = yearly
        self.withinSeconds = withinSeconds
        self.keepDivergedSeconds = keepDivergedSeconds
    }

    /// No rule for complete snapshots: nothing of them is forgotten (a policy
    /// must say what to keep; "keep nothing" is not a policy).
    public var keepsEverything: Bool {
        last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 && withinSeconds == 0
    }

    /// The calendar rules in the order their reasons are reported.
    var buckets: [(rule: RetentionRule, count: Int)] {
        [(.hourly, hourly), (.daily, daily), (.weekly, weekly), (.monthly, monthly), (.yearly, yearly)].filter { $0.count > 0 }
    }
}
