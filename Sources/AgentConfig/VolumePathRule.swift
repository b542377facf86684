/// Where a volume may live, checked the same way by `barge volume add` and by
/// the agent's config reader: an absolute path to a directory, not `/`, and
/// neither holding nor inside the state directory or another volume. Paths
/// are compared after resolving symlinks, and by device and inode where they
/// exist, so a second name for a directory does not slip through. Otherwise a
/// snapshot could store the store inside itself, or one volume twice.
public struct VolumePathRule: Sendable {
    /// This node's state directory, absolute.
    public let stateDirectory: String
    /// `volume add` needs the directory now. The agent's config may name one
    /// that does not exist yet on this node (a replica's, until a promotion
    /// creates it): then its nearest existing ancestor is resolved and compared.
    public let requireExisting: Bool

    public init(stateDirectory: String, requireExisting: Bool) {
        self.stateDirectory = stateDirectory
        self.requireExisting = requireExisting
    }

    /// Throws the first rule `path`, the path of volume `name`, breaks;
    /// `others` are the volumes already there, as (name, path).
    public func check(name: String, path: String, others: [(name: String, path: String)]) throws(VolumePathProblem) {
        guard path.hasPrefix("/") else {
            throw VolumePathProblem("\"\(path)\" is not an absolute path", hint: "start it with /, e.g. \"/media/state/\(name)\"")
        }
        if ResolvedPath.components(path).isEmpty { throw Self.rootProblem(name: name) }
        let resolved = try Self.resolve(path)
        if resolved.isRoot {
            throw VolumePathProblem("\"\(path)\" resolves to the root directory, which cannot be a volume",
                                    hint: Self.rootProblem(name: name).hint)
        }
        if resolved.exists, !resolved.isDirectory {
            throw VolumePathProblem("\"\(path)\" is not a directory", hint: "a volume is a directory: name the one that holds the state")
        }
        if requireExisting, !resolved.exists {
            throw VolumePathProblem("\"\(path)\" is not an existing directory", hint: "create it first, or check the spelling")
        }
        let state = try Self.resolve(stateDirectory)
        if let relation = resolved.relation(to: state) {
            let phrase = switch relation {
            case .same: "is the state directory"
            case .inside: "is inside the state directory"
            case .contains: "contains the state directory"
            }
            throw VolumePathProblem("\"\(path)\" \(phrase) \(stateDirectory)"
                                    + Self.explanation(relation, path, resolved, stateDirectory, state),
                                    hint: "a snapshot must not hold barge's own store: keep volumes and the state directory apart")
        }
        for other in others {
            guard let otherResolved = try? ResolvedPath(other.path), let relation = resolved.relation(to: otherResolved) else { continue }
            throw VolumePathProblem("\"\(path)\" \(Self.phrase(relation)) the path of volume \"\(other.name)\" (\"\(other.path)\")"
                                    + Self.explanation(relation, path, resolved, other.path, otherResolved),
                                    hint: "volumes must not overlap; give each its own directory")
        }
    }

    /// `/` itself; the config reader refuses it for every volume, on any node.
    public static func rootProblem(name: String) -> VolumePathProblem {
        VolumePathProblem("the root directory cannot be a volume",
                          hint: "name the directory that holds the state, e.g. \"/media/state/\(name)\"")
    }

    /// How two overlapping paths relate, in the words the config reader has always used.
    static func phrase(_ relation: ResolvedPath.Relation) -> String {
        switch relation {
        case .same: "is also"
        case .inside: "is inside"
        case .contains: "contains"
        }
    }

    private static func resolve(_ path: String) throws(VolumePathProblem) -> ResolvedPath {
        do { return try ResolvedPath(path) } catch {
            switch error {
            case let .notADirectory(file):
                throw VolumePathProblem("\"\(path)\" cannot be a directory: \(file) is not one", hint: "check the path")
            case .symlinkLoop:
                throw VolumePathProblem("\"\(path)\" does not resolve: more than \(ResolvedPath.maxSymlinks) symlinks (a loop?)",
                                        hint: "check the symlinks on the path")
            }
        }
    }

    /// Nothing when the two paths as written already show the overlap; else
    /// what they resolve to, and whether only device and inode tell.
    private static func explanation(_ relation: ResolvedPath.Relation, _ path: String, _ resolved: ResolvedPath,
                                    _ otherPath: String, _ other: ResolvedPath) -> String {
        if ResolvedPath.lexicalRelation(ResolvedPath.components(path), ResolvedPath.components(otherPath)) == relation { return "" }
        let both = "\"\(resolved.path)\" and \"\(other.path)\""
        if ResolvedPath.lexicalRelation(resolved.components, other.components) == relation {
            return " (after resolving symlinks: \(both))"
        }
        return " (by device and inode, e.g. through a bind mount: \(both))"
    }
}

/// Why a path cannot be a volume, and what to do about it.
public struct VolumePathProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let hint: String

    public init(_ message: String, hint: String) {
        self.message = message
        self.hint = hint
    }

    public var description: String { "\(message) (hint: \(hint))" }
}
