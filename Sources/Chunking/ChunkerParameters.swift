/// Sizes that steer FastCDC: chunks are at least `minimum`, at most `maximum`,
/// and `average` long on random input.
public struct ChunkerParameters: Sendable, Hashable, Codable {
    public let minimum: Int
    public let average: Int
    public let maximum: Int

    /// Smallest and largest average a volume may ask for. The upper bound also
    /// bounds every chunk length a reader has to accept (4 × 1 MiB).
    public static let averageRange = 4 * 1024...1024 * 1024
    /// The longest chunk any parameters can produce.
    public static let largestChunk = 4 * averageRange.upperBound

    public static let `default` = try! ChunkerParameters(average: 64 * 1024)

    /// min = avg / 4, max = avg × 4, as in the FastCDC paper's evaluation.
    public init(average: Int) throws(ChunkerParametersError) {
        guard Self.averageRange.contains(average), average & (average - 1) == 0 else {
            throw ChunkerParametersError(average: average)
        }
        self.minimum = average / 4
        self.average = average
        self.maximum = average * 4
    }

    /// log2(average): the number of mask bits between the normalized masks.
    var averageBits: Int { average.trailingZeroBitCount }
}

public struct ChunkerParametersError: Error, CustomStringConvertible, Sendable {
    public let average: Int
    public var description: String {
        "chunk size \(average) is not a power of two between \(ChunkerParameters.averageRange.lowerBound) and \(ChunkerParameters.averageRange.upperBound) bytes; try 64KiB"
    }
}
