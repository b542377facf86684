import Testing
@testable import Replication

/// The order requests leave in: depth first by position, runs kept whole and in order.
@Suite struct DepthFirstQueueTests {
    @Test func popsInDepthFirstOrder() {
        var queue = DepthFirstQueue<String>()
        queue.insert(["b1", "b2"], at: [1])
        queue.insert(["a/x"], at: [0, 3])
        queue.insert(["root"], at: [])
        queue.insert(["a"], at: [0])
        queue.insert(["c"], at: [2])
        queue.insert(["a/x/y"], at: [0, 3, 0])
        queue.insert([], at: [5])   // nothing queued
        #expect(queue.count == 7)
        #expect(queue.nextPosition == [])
        #expect(queue.pop(3) == ["root", "a", "a/x"])
        queue.insert(["a/z"], at: [0, 4])   // arrives late, still before [1]
        #expect(queue.pop(2) == ["a/x/y", "a/z"])
        #expect(queue.pop(1) == ["b1"], "a run is split across pops")
        #expect(queue.nextPosition == [1])
        #expect(queue.pop(10) == ["b2", "c"])
        #expect(queue.isEmpty && queue.nextPosition == nil && queue.pop(4).isEmpty)
    }

    /// Against sorting: any insertion order pops as the positions sort.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func matchesASortOfThePositions(seed: UInt64) {
        var state = seed
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        var queue = DepthFirstQueue<[Int32]>()
        var all: [[Int32]] = []
        var seen = Set<[Int32]>()
        for _ in 0..<300 {
            let position = (0..<(1 + next(4))).map { _ in Int32(next(5)) }
            guard seen.insert(position).inserted else { continue }
            all.append(position)
            queue.insert([position], at: position)
        }
        var popped: [[Int32]] = []
        while !queue.isEmpty { popped += queue.pop(1 + next(7)) }
        #expect(popped == all.sorted { $0.lexicographicallyPrecedes($1) })
    }
}
