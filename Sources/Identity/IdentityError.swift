/// A certificate or key that cannot be made, read or trusted, with what to do about it.
public struct IdentityError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message) (hint: \($0))" } ?? message }
}
