/// A snapshot as retention sees it.
public struct RetentionCandidate: Sendable, Equatable {
    public var id: String
    public var timeNanoseconds: Int64
    /// "complete", or a marker state ("diverged", "pre-restore").
    public var state: String
    /// Why this node cannot forget it now (standby copy, a transfer), or nil.
    public var inUse: String?

    public init(id: String, timeNanoseconds: Int64, state: String, inUse: String? = nil) {
        self.id = id
        self.timeNanoseconds = timeNanoseconds
        self.state = state
        self.inUse = inUse
    }
}

/// What retention decided for one snapshot, with every rule that keeps it
/// (`bucket` names the hour, day, week, month or year it stands for).
public struct RetentionVerdict: Sendable, Equatable, Codable {
    public struct Reason: Sendable, Equatable, Codable {
        public var rule: RetentionRule
        public var bucket: String?
        public var detail: String?

        public init(rule: RetentionRule, bucket: String? = nil, detail: String? = nil) {
            self.rule = rule
            self.bucket = bucket
            self.detail = detail
        }
    }

    public var id: String
    public var timeNanoseconds: Int64
    public var state: String
    public var reasons: [Reason]
    public var keep: Bool { !reasons.isEmpty }

    public init(id: String, timeNanoseconds: Int64, state: String, reasons: [Reason]) {
        self.id = id
        self.timeNanoseconds = timeNanoseconds
        self.state = state
        self.reasons = reasons
    }
}

/// Applies a policy: pure, no clock of its own (`now` is given), so every
/// decision can be replayed from its inputs.
public enum RetentionPlan {
    /// One verdict per candidate, newest first.
    public static func verdicts(_ policy: RetentionPolicy, for candidates: [RetentionCandidate], now: Int64) -> [RetentionVerdict] {
        let ordered = candidates.sorted { ($0.timeNanoseconds, $0.id) > ($1.timeNanoseconds, $1.id) }
        var verdicts = ordered.map { RetentionVerdict(id: $0.id, timeNanoseconds: $0.timeNanoseconds, state: $0.state, reasons: []) }
        let complete = ordered.indices.filter { ordered[$0].state == "complete" }
        for (index, candidate) in ordered.enumerated() {
            if let use = candidate.inUse { verdicts[index].reasons.append(.init(rule: .inUse, detail: use)) }
            guard candidate.state != "complete" else { continue }
            let age = now - candidate.timeNanoseconds
            if let limit = policy.keepDivergedSeconds, age > nanoseconds(limit) { continue }
            verdicts[index].reasons.append(.init(rule: .marker, detail: candidate.state))
        }
        guard let newest = complete.first else { return verdicts }
        if policy.keepsEverything {
            for index in complete { verdicts[index].reasons.append(.init(rule: .newest, detail: "no keep_* rule: nothing is forgotten")) }
            return verdicts
        }
        verdicts[newest].reasons.append(.init(rule: .newest))
        for index in complete.prefix(max(0, policy.last)) { verdicts[index].reasons.append(.init(rule: .last)) }
        for (rule, count) in policy.buckets {
            var remaining = count
            var previous: String?
            for index in complete where remaining > 0 {
                let bucket = rule.bucket(ofNanoseconds: ordered[index].timeNanoseconds)
                guard bucket != previous else { continue }
                previous = bucket
                verdicts[index].reasons.append(.init(rule: rule, bucket: bucket))
                remaining -= 1
            }
        }
        if policy.withinSeconds > 0 {
            // From the newest snapshot that is not in the future (a clock set wrong once must not
            // shift the window), as restic does; with none, every snapshot is within.
            let reference = complete.map { ordered[$0].timeNanoseconds }.filter { $0 <= now }.max()
            let since = reference.map { $0.subtractingReportingOverflow(nanoseconds(policy.withinSeconds)) }
                .map { $0.overflow ? Int64.min : $0.partialValue } ?? .min
            for index in complete where ordered[index].timeNanoseconds > since {
                verdicts[index].reasons.append(.init(rule: .within))
            }
        }
        return verdicts
    }

    /// Seconds to nanoseconds, saturating: a policy from a request is not trusted to be sane.
    static func nanoseconds(_ seconds: Int64) -> Int64 {
        let (value, overflow) = max(0, seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : value
    }
}
