/// Why a session ended. Codes travel in `error` frames and are part of the protocol.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: UInt16, Sendable, CaseIterable {
        /// A frame that does not decode: bad length, unknown type, bad field.
        case malformed = 1
        case unsupportedVersion = 2
        /// The peer is not configured, or its certificate names another node.
        case unauthorized = 3
        case unknownVolume = 4
        /// The offering node is not the volume's owner as the replica knows it.
        case notOwner = 5
        /// The offer's epoch is lower than the one the replica knows.
        case staleEpoch = 6
        /// Bytes that fail their hash or do not decode.
        case corruptData = 7
        /// The receiving side could not store the data (disk full, I/O error).
        case storage = 8
        case limitExceeded = 9
        case shuttingDown = 10
        case internalError = 11
        case unexpectedMessage = 12
        /// A volume's start or stop hook failed or timed out.
        case hookFailed = 13
        /// The target cannot take the volume yet (no complete standby of the snapshot).
        case notReady = 14
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code) (\(code.rawValue)): \(message)" }
}
