import Foundation
import Repository
import Testing
import TestSupport

/// `barge init --compression`: the codec a store writes new blobs with, chosen on the command line.
@Suite struct InitCompressionTests {
    /// The codecs of the store's chunk records.
    static func chunkCodecs(_ state: String) throws -> Set<Compression> {
        var codecs: Set<Compression> = []
        try Store(at: state, access: .read).index.allBlobs { if $0.kind == .chunk && $0.compression != .none { codecs.insert($0.compression) } }
        return codecs
    }

    @Test func aStoreWritesTheCodecItWasGivenAndCanSwitch() throws {
        let workspace = try Workspace("init-codec")
        let volume = workspace.path("data")
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        var words = SplitMix64(seed: 31)
        try Data(words.text(400_000)).write(to: URL(fileURLWithPath: volume + "/a.txt"))

        let made = try workspace.ok("init", "--compression", "lz4", "--json").object()
        #expect(made["compression"] as? String == "lz4", "\(made)")
        try workspace.ok("volume", "add", "v", volume)
        try workspace.ok("snapshot", "v")
        #expect(try Self.chunkCodecs(workspace.state) == [.lz4])

        // Run again without the option: the store keeps its codec.
        #expect(try workspace.ok("init", "--json").object()["compression"] as? String == "lz4")
        // Switched: blobs written from now on are zstd, the old ones stay readable.
        #expect(try workspace.ok("init", "--compression", "zstd", "--json").object()["compression"] as? String == "zstd")
        try Data(words.text(300_000)).write(to: URL(fileURLWithPath: volume + "/b.txt"))
        try workspace.ok("snapshot", "v")
        #expect(try Self.chunkCodecs(workspace.state) == [.lz4, .zstd])
        #expect(try workspace.ok("verify", "--read-data", "--json").object()["ok"] as? Bool == true)

        for bad in ["none", "gzip"] {
            let refused = try workspace.barge("init", "--compression", bad)
            #expect(refused.status == 2 && refused.stderr.contains("choose lz4 or zstd"), "\(refused)")
        }
        #expect(try workspace.ok("init", "--json").object()["compression"] as? String == "zstd", "a refused codec changed nothing")
    }

    /// A running agent writes the store: its codec is not changed under it.
    @Test func aStoreInUseByItsAgentKeepsItsCodec() throws {
        let cluster = try AgentCluster("init-codec-agent")
        try cluster.start("d0")
        let state = cluster.stateDirectory("d0")
        let refused = try cluster.workspace.barge("init", "--compression", "lz4", "--state-dir", state)
        #expect(refused.status == 1 && refused.stderr.contains("write.lock") && refused.stderr.contains("another barge process"), "\(refused)")
        #expect(try Store(at: state, access: .read).compression == .zstd)
        // Without a change, init stays harmless beside the agent.
        let again = try cluster.workspace.barge("init", "--json", "--state-dir", state)
        #expect(again.status == 0 && (try? again.object()["compression"] as? String) == "zstd", "\(again)")
    }
}
