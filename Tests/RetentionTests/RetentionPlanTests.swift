import Foundation
import Retention
import Testing

/// One case of testdata/retention/policies.json: a series of snapshot times,
/// a policy in config words, and what restic itself keeps (make_vectors.py).
struct ResticCase: Decodable, CustomTestStringConvertible, Sendable {
    var series: String
    var policy: [String: PolicyValue]
    var snapshots: [String]
    var kept: [String]
    /// When restic ran: keep_within counts back from it.
    var now: String

    enum PolicyValue: Decodable, Sendable {
        case count(Int), duration(String)
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) { self = .count(count) } else { self = .duration(try container.decode(String.self)) }
        }
    }

    var testDescription: String { "\(series) \(policy.keys.sorted().map { "\($0)=\(policy[$0]!)" }.joined(separator: " "))" }

    func retentionPolicy() throws -> RetentionPolicy {
        var result = RetentionPolicy()
        for (key, value) in policy {
            switch (key, value) {
            case ("keep_last", .count(let n)): result.last = n
            case ("keep_hourly", .count(let n)): result.hourly = n
            case ("keep_daily", .count(let n)): result.daily = n
            case ("keep_weekly", .count(let n)): result.weekly = n
            case ("keep_monthly", .count(let n)): result.monthly = n
            case ("keep_yearly", .count(let n)): result.yearly = n
            case ("keep_within", .duration(let text)):
                // restic's own spelling here: whole days or hours.
                guard let number = Int64(text.dropLast()) else { throw CaseError("bad duration \(text)") }
                result.withinSeconds = number * (text.hasSuffix("d") ? 86_400 : 3_600)
            default: throw CaseError("unknown rule \(key)")
            }
        }
        return result
    }

    static func all() throws -> [ResticCase] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        struct File: Decodable { var cases: [ResticCase] }
        let data = try Data(contentsOf: root.appendingPathComponent("testdata/retention/policies.json"))
        return try JSONDecoder().decode(File.self, from: data).cases
    }
}

struct CaseError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func nanoseconds(_ stamp: String) throws -> Int64 {
    let formatter = ISO8601DateFormatter()
    guard let date = formatter.date(from: stamp) else { throw CaseError("bad time \(stamp)") }
    return Int64(date.timeIntervalSince1970) * 1_000_000_000
}

@Suite struct RetentionPlanTests {
    @Test("keeps exactly what restic keeps", arguments: try ResticCase.all())
    func matchesRestic(_ vector: ResticCase) throws {
        let candidates = try vector.snapshots.map { RetentionCandidate(id: $0, timeNanoseconds: try nanoseconds($0), state: "complete") }
        let now = try nanoseconds(vector.now)
        let verdicts = RetentionPlan.verdicts(try vector.retentionPolicy(), for: candidates, now: now)
        #expect(verdicts.filter(\.keep).map(\.id).sorted() == vector.kept.sorted())
        #expect(verdicts.count == candidates.count)
    }

    @Test func markersFollowOnlyKeepDiverged() throws {
        let hour: Int64 = 3_600_000_000_000
        let now = 1_000 * hour
        let candidates = [
            RetentionCandidate(id: "old-complete", timeNanoseconds: now - 500 * hour, state: "complete"),
            RetentionCandidate(id: "diverged-old", timeNanoseconds: now - 400 * hour, state: "diverged"),
            RetentionCandidate(id: "pre-restore-new", timeNanoseconds: now - 2 * hour, state: "pre-restore"),
            RetentionCandidate(id: "newest", timeNanoseconds: now - hour, state: "complete"),
        ]
        let kept = { (policy: RetentionPolicy) in RetentionPlan.verdicts(policy, for: candidates, now: now).filter(\.keep).map(\.id).sorted() }
        #expect(kept(RetentionPolicy(last: 1)) == ["diverged-old", "newest", "pre-restore-new"])
        #expect(kept(RetentionPolicy(last: 1, keepDivergedSeconds: 7 * 86_400)) == ["newest", "pre-restore-new"])
        #expect(kept(RetentionPolicy(last: 1, keepDivergedSeconds: 60)) == ["newest"])
    }

    @Test func inUseAndNewestAreNeverForgotten() throws {
        let hour: Int64 = 3_600_000_000_000
        let candidates = (0..<10).map { RetentionCandidate(id: "s\($0)", timeNanoseconds: Int64($0) * hour, state: "complete",
                                                            inUse: $0 == 2 ? "the standby copy equals it" : nil) }
        let verdicts = RetentionPlan.verdicts(RetentionPolicy(yearly: 1), for: candidates, now: 20 * hour)
        #expect(verdicts.filter(\.keep).map(\.id).sorted() == ["s2", "s9"])
        let standby = try #require(verdicts.first { $0.id == "s2" })
        #expect(standby.reasons.map(\.rule) == [.inUse])
        let newest = try #require(verdicts.first { $0.id == "s9" })
        #expect(newest.reasons.map(\.rule) == [.newest, .yearly] && newest.reasons[1].bucket == "1970")
    }

    @Test func absurdPoliciesFromARequestNeitherTrapNorForgetTheNewest() {
        let candidates = (0..<5).map { RetentionCandidate(id: "s\($0)", timeNanoseconds: Int64($0) * 1_000_000_000, state: "complete") }
        for policy in [RetentionPolicy(last: -3), RetentionPolicy(daily: -1, withinSeconds: .max), RetentionPolicy(withinSeconds: .min),
                       RetentionPolicy(last: 1, keepDivergedSeconds: .max), RetentionPolicy(last: .max)] {
            let verdicts = RetentionPlan.verdicts(policy, for: candidates, now: 10_000_000_000)
            #expect(verdicts.first { $0.id == "s4" }?.keep == true, "\(policy)")
        }
    }

    @Test func aPolicyWithoutRulesKeepsEverything() {
        let candidates = (0..<5).map { RetentionCandidate(id: "s\($0)", timeNanoseconds: Int64($0) * 1_000_000_000, state: "complete") }
        #expect(RetentionPlan.verdicts(RetentionPolicy(), for: candidates, now: 10_000_000_000).allSatisfy { $0.keep })
        #expect(RetentionPlan.verdicts(RetentionPolicy(last: 2), for: [], now: 0).isEmpty)
    }
}
