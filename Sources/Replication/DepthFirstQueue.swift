/// Requests kept in the depth-first order of their place in a snapshot's
/// tree: a position is the entry indices from the root, compared
/// lexicographically, so a directory's subtree sorts between the entries
/// before and after it. Runs of items share one position and keep their order.
struct DepthFirstQueue<Item> {
    private struct Run {
        var position: [Int32]
        var items: [Item]
        var next = 0
    }

    /// Sorted so that the earliest run is last.
    private var runs: [Run] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }
    var nextPosition: [Int32]? { runs.last?.position }

    mutating func insert(_ items: [Item], at position: [Int32]) {
        guard !items.isEmpty else { return }
        var low = 0, high = runs.count
        while low < high {
            let middle = (low + high) / 2
            if position.lexicographicallyPrecedes(runs[middle].position) { low = middle + 1 } else { high = middle }
        }
        runs.insert(Run(position: position, items: items), at: low)
        count += items.count
    }

    /// Takes up to `limit` items, earliest first.
    mutating func pop(_ limit: Int) -> [Item] { popPositioned(limit).map(\.item) }

    /// Takes up to `limit` items, earliest first, each with its run's position.
    mutating func popPositioned(_ limit: Int) -> [(item: Item, position: [Int32])] {
        var taken: [(item: Item, position: [Int32])] = []
        while taken.count < limit, var run = runs.popLast() {
            let end = min(run.items.count, run.next + limit - taken.count)
            for item in run.items[run.next..<end] { taken.append((item, run.position)) }
            run.next = end
            if end < run.items.count { runs.append(run) }
        }
        count -= taken.count
        return taken
    }
}
