import Chunking
import Ownership
import Testing
import TestSupport

@Suite("Ownership state machine")
struct VolumeOwnershipTests {
    @Test("every transition of testdata/ownership", arguments: try OwnershipCase.all())
    func vector(_ vector: OwnershipCase) throws {
        var state = try vector.state()
        let before = state
        let decision = try vector.event.apply(to: &state)
        switch decision {
        case let .act(actions):
            #expect(vector.refuse == nil, "expected a refusal, got \(actions)")
            #expect(actions.map(\.description) == vector.actions)
        case let .refuse(refusal):
            #expect(refusal.code.rawValue == vector.refuse, "\(refusal)")
            #expect(state == before, "a refusal changes nothing")
        }
        #expect(state.record.description == vector.recordAfter)
        #expect(state.container.rawValue == vector.containerAfter)
    }

    @Test("the vectors cover every event and every refusal code")
    func coverage() throws {
        let cases = try OwnershipCase.all()
        let events = Set(cases.map { "\($0.event)".prefix { $0 != "(" } })
        #expect(events.count == 13, "events covered: \(events.sorted())")
        let refusals = Set(cases.compactMap(\.refuse))
        #expect(refusals == ["notMember", "notOwner", "staleEpoch", "ownerAnswers", "unconfirmed"])
    }

    /// Random event sequences on one node: the epoch never falls, a refusal
    /// changes nothing, a running container means this node owns the volume,
    /// and every change of record is carried out by a `record` action.
    @Test("invariants over random event sequences", arguments: 0..<40)
    func invariants(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let members = ["n1", "n2", "n3"]
        var state = VolumeOwnership(volume: "v", node: "n1", members: members,
                                    record: OwnerRecord(owner: members[Int(rng.next() % 3)], epoch: 1 + rng.next() % 5),
                                    container: .stopped)
        for _ in 0..<200 {
            let before = state
            let decision = randomEvent(&rng, members: members, state: state)(&state)
            switch decision {
            case .refuse: #expect(state == before)
            case let .act(actions):
                #expect(state.record.epoch >= before.record.epoch)
                if state.record != before.record {
                    #expect(actions.contains(.record(state.record)), "record changed without a record action: \(actions)")
                }
                if let first = actions.firstIndex(where: { if case .startContainer = $0 { true } else { false } }),
                   let recorded = actions.firstIndex(where: { if case .record = $0 { true } else { false } }) {
                    #expect(recorded < first, "a container starts only after its record: \(actions)")
                }
            }
            if state.container == .running { #expect(state.ownedHere, "running without owning: \(state)") }
            if before.ownedHere && !state.ownedHere {
                #expect(state.container == .stopped)
            }
        }
    }

    private func randomEvent(_ rng: inout SplitMix64, members: [String], state: VolumeOwnership)
        -> (inout VolumeOwnership) -> OwnershipDecision {
        let peer = members[Int(rng.next() % UInt64(members.count))]
        let epoch = max(1, state.record.epoch + rng.next() % 4) - 1 + rng.next() % 2
        let record = OwnerRecord(owner: peer, epoch: epoch)
        let flag = rng.next() % 2 == 0
        switch rng.next() % 13 {
        case 0: return { $0.admitOffer(from: peer, owner: peer, epoch: epoch) }
        case 1: return { $0.learn(record) }
        case 2: return { $0.prepareHandover(from: peer, epoch: epoch, snapshot: "S") }
        case 3: return { $0.commitHandover(from: peer, epoch: epoch, snapshot: "S") }
        case 4: return { $0.abortHandover(epoch: epoch, standbyInPlace: flag) }
        case 5: return { $0.handedOver(to: peer, epoch: epoch, final: "F") }
        case 6: return { $0.rollBackMigration(target: peer, proposed: epoch) }
        case 7: return { $0.takeBack(from: peer, final: "F") }
        case 8: return { $0.failover(force: flag, ownerAnswer: flag ? nil : record, dataAtPath: flag) }
        case 9: return { $0.reconcileAtStart(answered: flag, highest: record) }
        case 10: return { $0.leaseLost() }
        case 11: return { $0.leaseRestored(current: record) }
        default: return { $0.elected(token: epoch) }
        }
    }
}
