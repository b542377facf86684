import Foundation
import Testing
import TestSupport

/// `snapshot --time` records the given time (imports, simulations), retention
/// works on it, and a malformed time changes nothing.
@Suite struct SnapshotTimeTests {
    @Test func snapshotsTakenAtGivenTimesFollowThePolicyByThoseTimes() throws {
        let ws = try Workspace("snapshot-time")
        let volume = try ws.initStore()
        var ids: [String] = []
        for hour in 0..<5 {
            try Data("hour \(hour)".utf8).write(to: URL(fileURLWithPath: volume + "/f"))
            ids.append(try ws.ok("snapshot", "v", "--time", String(format: "2026-01-01T%02d:30:00Z", hour)).out
                .trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let listed = try ws.ok("snapshots", "v", "--json").array()
        #expect(listed.compactMap { $0["time_ns"] as? Int } == (0..<5).map { 1_767_225_600_000_000_000 + ($0 * 3600 + 1800) * 1_000_000_000 })
        // keep_hourly 2: the newest of each of the last two hours, by the recorded times.
        try ws.ok("forget", "v", "--keep-hourly", "2")
        #expect(try ws.ok("snapshots", "v", "--json").array().compactMap { $0["id"] as? String } == Array(ids.suffix(2)))
        let bad = try ws.barge("snapshot", "v", "--time", "yesterday")
        #expect(bad.status == 2 && bad.stderr.contains("ISO 8601"), "\(bad)")
        #expect(try ws.ok("snapshots", "v", "--json").array().count == 2)
    }
}
