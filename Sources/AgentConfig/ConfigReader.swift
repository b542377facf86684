import TOMLKit

/// Turns config text into an `AgentConfiguration`: TOML syntax first, then
/// each table's shape and values, then the rules that span tables (unique
/// names, owners and replicas that exist, volume paths that overlap neither
/// each other nor, on this node, the state directory).
struct ConfigReader {
    let text: String
    let source: String

    static let tables = ["node", "tls", "peer", "volume", "cluster", "offsite"]

    func read() throws(ConfigError) -> AgentConfiguration {
        let table = try document()
        let map = SourceMap(text: text)
        if let nul = map.nulEscape {
            let key = nul.path.filter { !$0.hasPrefix("[") }.joined(separator: ".")
            throw ConfigError(source: source, line: nul.line, key: key.isEmpty ? nil : key,
                              message: "value contains a NUL character (\\u0000)",
                              hint: "remove the \\u0000; no name, path or command may contain NUL")
        }
        let root = TableReader(table: table, path: [], source: source, map: map)
        try root.rejectUnknownKeys(allowed: Self.tables)
        guard let nodeTable = try root.subtable("node") else {
            throw missingTable("node", hint: "add a [node] table with name = \"d0\"")
        }
        let node = try NodeSettings(reading: nodeTable)
        guard let tlsTable = try root.subtable("tls") else {
            throw missingTable("tls", hint: "add a [tls] table with ca, cert and key paths")
        }
        let tls = try TLSSettings(reading: tlsTable)

        var peers: [PeerSettings] = []
        for table in try root.tableArray("peer") {
            let peer = try PeerSettings(reading: table)
            try checkPeerName(peer.name, in: table, node: node, earlier: peers)
            peers.append(peer)
        }
        let nodeNames = [node.name] + peers.map(\.name)

        var volumes: [VolumeSettings] = []
        for table in try root.tableArray("volume") {
            let volume = try VolumeSettings(reading: table)
            try checkVolume(volume, in: table, node: node, nodeNames: nodeNames, earlier: volumes)
            volumes.append(volume)
        }
        let cluster = try root.subtable("cluster").map { table throws(ConfigError) in try ClusterSettings(reading: table) }
        let offsite = try offsiteTables(root)
        for target in offsite.settings {
            let table = offsite.tables[target.name]!
            for volume in target.volumes where !volumes.contains(where: { $0.name == volume }) {
                throw table.error("volumes", "names volume \"\(volume)\", which no [[volume]] table defines",
                                  hint: "add the [[volume]] or remove the name from volumes")
            }
        }
        return AgentConfiguration(node: node, tls: tls, peers: peers, volumes: volumes, cluster: cluster, offsite: offsite.settings)
    }

    /// Only the `[[offsite]]` tables: what a bare machine restoring from a bucket needs.
    /// The other tables may be there (an agent's file) and are not checked.
    func readOffsite() throws(ConfigError) -> [OffsiteSettings] {
        let table = try document()
        let root = TableReader(table: table, path: [], source: source, map: SourceMap(text: text))
        try root.rejectUnknownKeys(allowed: Self.tables)
        return try offsiteTables(root).settings
    }

    private func offsiteTables(_ root: TableReader) throws(ConfigError) -> (settings: [OffsiteSettings], tables: [String: TableReader]) {
        var settings: [OffsiteSettings] = []
        var tables: [String: TableReader] = [:]
        for table in try root.tableArray("offsite") {
            let target = try OffsiteSettings(reading: table)
            guard tables[target.name] == nil else {
                throw table.error("name", "a second [[offsite]] is named \"\(target.name)\"", hint: "give each target its own name")
            }
            tables[target.name] = table
            settings.append(target)
        }
        return (settings, tables)
    }

    /// Parses the TOML; syntax errors keep TOMLKit's line and column.
    private func document() throws(ConfigError) -> TOMLTable {
        // TOMLKit hands the text to C, which would stop at a NUL and parse the rest as missing.
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].count(where: { $0 == UInt8(ascii: "\n") }) + 1
            throw ConfigError(source: source, line: line, key: nil, message: "file contains a NUL byte",
                              hint: "the file looks binary or damaged; rewrite it as plain text")
        }
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let begin = error.source.begin
            return try fail(ConfigError(source: source, line: begin.line, key: nil,
                                        message: "TOML syntax error: \(error.description)",
                                        hint: "fix the TOML syntax at line \(begin.line), column \(begin.column)"))
        } catch {
            return try fail(ConfigError(source: source, line: nil, key: nil, message: "TOML syntax error: \(error)",
                                        hint: "fix the TOML syntax"))
        }
    }

    /// Rethrows with the typed error; a plain `throw` inside an untyped catch
    /// would widen the error type.
    private func fail<T>(_ error: ConfigError) throws(ConfigError) -> T { throw error }

    private func missingTable(_ name: String, hint: String) -> ConfigError {
        ConfigError(source: source, line: nil, key: name, message: "required table [\(name)] is missing", hint: hint)
    }

    private func checkPeerName(_ name: String, in table: TableReader, node: NodeSettings,
                               earlier: [PeerSettings]) throws(ConfigError) {
        if name == node.name {
            throw table.error("name", "\"\(name)\" is this node's own name (node.name)",
                              hint: "a node is not its own peer; remove this [[peer]] or rename [node]")
        }
        if earlier.contains(where: { $0.name == name }) {
            throw table.error("name", "a [[peer]] named \"\(name)\" is already defined",
                              hint: "give each [[peer]] its own name, or remove the duplicate")
        }
    }

    private func checkVolume(_ volume: VolumeSettings, in table: TableReader, node: NodeSettings, nodeNames: [String],
                             earlier: [VolumeSettings]) throws(ConfigError) {
        if earlier.contains(where: { $0.name == volume.name }) {
            throw table.error("name", "a [[volume]] named \"\(volume.name)\" is already defined",
                              hint: "give each [[volume]] its own name, or remove the duplicate")
        }
        for other in earlier {
            if let relation = Self.overlap(volume.path, other.path) {
                throw table.error("path", "\"\(volume.path)\" \(relation) the path of volume \"\(other.name)\" (\"\(other.path)\")",
                                  hint: "volumes must not overlap; give each its own directory")
            }
        }
        func unknownNode(_ key: String, _ name: String) -> ConfigError {
            table.error(key, "\"\(name)\" is neither this node nor a [[peer]]",
                        hint: "add a [[peer]] named \(name), or fix the name")
        }
        guard nodeNames.contains(volume.owner) else { throw unknownNode("owner", volume.owner) }
        var seen: Set<String> = []
        for replica in volume.replicas {
            guard nodeNames.contains(replica) else { throw unknownNode("replicas", replica) }
            guard replica != volume.owner else {
                throw table.error("replicas", "\"\(replica)\" is the owner, which holds the live copy, not a replica",
                                  hint: "remove \(replica) from replicas")
            }
            guard seen.insert(replica).inserted else {
                throw table.error("replicas", "\"\(replica)\" is listed twice", hint: "list each replica once")
            }
        }
        try checkPlacement(volume, in: table, node: node, earlier: earlier)
    }

    /// On this node's file system (so only for volumes this node owns or
    /// replicates): the volume rule `barge volume add` applies too, against the
    /// state directory and this node's other volumes, after resolving symlinks.
    private func checkPlacement(_ volume: VolumeSettings, in table: TableReader, node: NodeSettings,
                                earlier: [VolumeSettings]) throws(ConfigError) {
        guard volume.members.contains(node.name) else { return }
        let neighbours = earlier.filter { $0.members.contains(node.name) }.map { (name: $0.name, path: $0.path) }
        let rule = VolumePathRule(stateDirectory: node.stateDirectory, requireExisting: false)
        do throws(VolumePathProblem) { try rule.check(name: volume.name, path: volume.path, others: neighbours) } catch {
            throw table.error("path", error.message, hint: error.hint)
        }
    }

    /// How path `a` relates to path `b` if they overlap, judged by name; both are normalized.
    static func overlap(_ a: String, _ b: String) -> String? {
        ResolvedPath.lexicalRelation(ResolvedPath.components(a), ResolvedPath.components(b)).map(VolumePathRule.phrase)
    }
}
