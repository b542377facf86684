import Foundation

/// Why a snapshot is kept.
public enum RetentionRule: String, Sendable, Codable, CaseIterable {
    case last, hourly, daily, weekly, monthly, yearly, within
    /// The newest complete snapshot: replication and standby copies build on it.
    case newest
    /// A `diverged` or `pre-restore` snapshot, kept until named or `keep_diverged` passes.
    case marker
    /// Still needed here: the standby copy equals it, or a transfer uses it.
    case inUse = "in-use"

    /// The calendar bucket of a time (UTC) for the counting rules; ISO weeks
    /// begin on Monday and belong to the year of their Thursday.
    func bucket(ofNanoseconds time: Int64) -> String? {
        let date = Date(timeIntervalSince1970: Double(time.floorDivided(by: 1_000_000_000)))
        let utc = RetentionRule.calendar
        switch self {
        case .hourly:
            let c = utc.dateComponents([.year, .month, .day, .hour], from: date)
            return String(format: "%04d-%02d-%02d %02dh", c.year!, c.month!, c.day!, c.hour!)
        case .daily:
            let c = utc.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        case .weekly:
            let c = RetentionRule.isoCalendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
            return String(format: "%04d-W%02d", c.yearForWeekOfYear!, c.weekOfYear!)
        case .monthly:
            let c = utc.dateComponents([.year, .month], from: date)
            return String(format: "%04d-%02d", c.year!, c.month!)
        case .yearly:
            return String(format: "%04d", utc.component(.year, from: date))
        case .last, .within, .newest, .marker, .inUse:
            return nil
        }
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    private static let isoCalendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

extension Int64 {
    /// Division rounding toward negative infinity (times before 1970 too).
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
