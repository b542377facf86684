import AgentConfig
import ArgumentParser
import Chunking
import Foundation
import Repository
import Snapshots

struct VolumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume", abstract: "Manage the host directories barge tracks.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Track a host directory as a volume.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Volume name: letters, digits, '.', '_' and '-'.") var name: String
        @Argument(help: "The host directory.") var path: String
        @Option(name: .customLong("chunk-size"), help: "Average chunk size, a power of two from 4KiB to 1MiB.")
        var chunkSize: String = "64KiB"
        @Flag(name: .customLong("cross-mounts"), help: "Include file systems mounted below the path.")
        var crossMounts = false

        func validate() throws {
            guard Self.isValidName(name) else {
                throw ValidationError("volume name \"\(name)\" must be 1-64 letters, digits, '.', '_' or '-', and not start with '.'")
            }
            guard let bytes = Self.parseSize(chunkSize) else {
                throw ValidationError("--chunk-size \"\(chunkSize)\" is not a size; write e.g. 64KiB or 1MiB")
            }
            do { _ = try ChunkerParameters(average: bytes) } catch { throw ValidationError("--chunk-size: \(error)") }
        }

        func run() throws {
            let absolute = Paths.absolute(path)
            let store = try Store(at: global.resolvedStateDirectory, access: .write)
            // The agent's config reader applies the same rule to its volumes.
            let rule = VolumePathRule(stateDirectory: Paths.absolute(global.resolvedStateDirectory), requireExisting: true)
            // A volume of the same name is refused by the index, with its own message.
            let others = try store.index.volumes().filter { $0.name != name }.map { (name: $0.name, path: $0.path) }
            do throws(VolumePathProblem) { try rule.check(name: name, path: absolute, others: others) } catch {
                throw RepositoryError(.invalidArgument, error.message, hint: error.hint)
            }
            let volume = VolumeRecord(name: name, path: absolute, chunkAverage: Self.parseSize(chunkSize)!, crossMounts: crossMounts)
            try store.index.addVolume(volume)
            if global.json {
                Terminal.json(VolumeCommand.json(volume))
            } else {
                print("added volume \(name) at \(absolute)")
            }
        }

        static func isValidName(_ name: String) -> Bool {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
            return (1...64).contains(name.count) && !name.hasPrefix(".") && name.allSatisfy { allowed.contains($0) }
        }

        static func parseSize(_ text: String) -> Int? {
            let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("K", 1 << 10), ("M", 1 << 20), ("k", 1 << 10), ("B", 1)]
            for (suffix, scale) in units where text.hasSuffix(suffix) {
                return Int(text.dropLast(suffix.count)).map { $0 * scale }
            }
            return Int(text)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List volumes.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let volumes = try Store(at: global.resolvedStateDirectory, access: .read).index.volumes()
            if global.json {
                Terminal.json(volumes.map(VolumeCommand.json))
            } else if volumes.isEmpty {
                print("no volumes; add one with `barge volume add NAME PATH`")
            } else {
                for volume in volumes { print("\(volume.name)\t\(volume.path)\tchunks ~\(Terminal.bytes(volume.chunkAverage))") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop tracking a volume. Its snapshots are kept.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String

        func run() throws {
            let store = try Store(at: global.resolvedStateDirectory, access: .write)
            guard try store.index.removeVolume(named: name) else {
                throw RepositoryError(.notFound, "no volume named \(name)", hint: "see `barge volume list`")
            }
            if global.json { Terminal.json(["removed": name]) } else { print("removed volume \(name); its snapshots are kept") }
        }
    }

    static func json(_ volume: VolumeRecord) -> [String: Any] {
        ["name": volume.name, "path": volume.path, "chunk_size": volume.chunkAverage, "cross_mounts": volume.crossMounts]
    }
}
