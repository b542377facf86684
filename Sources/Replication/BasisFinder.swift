import Repository
import Snapshots

/// Picks, for a changed chunk, the chunks of the file's previous version that
/// cover the same bytes: content-defined cuts keep most regions aligned, so
/// these hold most of what the new chunk holds.
enum BasisFinder {
    static let maxBasisChunks = 2

    /// `old` is the previous version's chunk list; `offset` and `length` place the new chunk.
    static func basis(offset: Int, length: Int, old: [ChunkRef], oldOffsets: [Int]) -> [BlobID] {
        guard !old.isEmpty else { return [] }
        // First old chunk ending after `offset` (binary search over start offsets).
        var low = 0, high = old.count - 1
        while low < high {
            let middle = (low + high) / 2
            if oldOffsets[middle] + old[middle].length <= offset { low = middle + 1 } else { high = middle }
        }
        var overlapping: [(index: Int, bytes: Int)] = []
        var index = low
        while index < old.count, oldOffsets[index] < offset + length {
            let start = max(offset, oldOffsets[index]), end = min(offset + length, oldOffsets[index] + old[index].length)
            if end > start { overlapping.append((index, end - start)) }
            index += 1
        }
        // Past the old file's end (the file grew): its last chunk is the best guess.
        if overlapping.isEmpty { return [old[old.count - 1].id] }
        let chosen = overlapping.sorted { $0.bytes > $1.bytes }.prefix(maxBasisChunks).map(\.index).sorted()
        var ids: [BlobID] = []
        for position in chosen where !ids.contains(old[position].id) { ids.append(old[position].id) }
        return ids
    }

    static func offsets(_ chunks: [ChunkRef]) -> [Int] {
        var offsets: [Int] = []
        offsets.reserveCapacity(chunks.count)
        var position = 0
        for chunk in chunks { offsets.append(position); position += chunk.length }
        return offsets
    }
}
