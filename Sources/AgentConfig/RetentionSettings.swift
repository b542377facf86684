import Retention

/// `[volume.retention]`: which snapshots the agent keeps, applied on every
/// node to its own store. Without the table nothing is forgotten.
enum RetentionSettings {
    static let keys = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly",
                       "keep_within", "keep_diverged"]
    /// More than anyone keeps: 100 years of hours.
    static let maximumCount = 876_000

    static func read(_ table: TableReader) throws(ConfigError) -> RetentionPolicy {
        try table.rejectUnknownKeys(allowed: keys)
        let century = (100 * 365 * 86_400.0, "36500d")
        var policy = RetentionPolicy(
            last: try table.count("keep_last", maximum: maximumCount),
            hourly: try table.count("keep_hourly", maximum: maximumCount),
            daily: try table.count("keep_daily", maximum: maximumCount),
            weekly: try table.count("keep_weekly", maximum: maximumCount),
            monthly: try table.count("keep_monthly", maximum: maximumCount),
            yearly: try table.count("keep_yearly", maximum: maximumCount),
            withinSeconds: Int64(try table.duration("keep_within", default: 0, minimum: (1, "1s"), maximum: century)))
        if table.table["keep_diverged"] != nil {
            policy.keepDivergedSeconds = Int64(try table.duration("keep_diverged", default: 0, minimum: (3600, "1h"), maximum: century))
        }
        if policy.keepsEverything && policy.keepDivergedSeconds == nil {
            throw table.error(nil, "has no keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within or keep_diverged: it would keep every snapshot",
                              hint: "add a rule such as keep_daily = 7, or remove the table to keep every snapshot")
        }
        return policy
    }
}
