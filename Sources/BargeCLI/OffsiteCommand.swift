import Agent
import AgentConfig
import ArgumentParser
import Foundation
import Offsite
import Repository
import Snapshots

/// `barge offsite ...`: encrypted copies of volumes' history in an S3-compatible bucket.
struct OffsiteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offsite", abstract: "Keep and use an encrypted copy of volumes' history in an S3-compatible bucket.",
        discussion: """
            Targets are [[offsite]] tables of --config (default /etc/barge/barge.toml); on a bare machine that file may \
            hold only the [[offsite]] table. Credentials come from its credentials_file or AWS_ACCESS_KEY_ID / \
            AWS_SECRET_ACCESS_KEY. Listing and restoring need no state directory and no peers: \
            `barge snapshots VOLUME --offsite NAME`, `barge restore VOLUME --offsite NAME --target DIR`.
            """,
        subcommands: [OffsiteKeygenCommand.self, OffsiteInitCommand.self, OffsitePushCommand.self,
                      OffsiteVerifyCommand.self, OffsiteForgetCommand.self, OffsiteGCCommand.self])
}

/// `--config`: the file with the [[offsite]] tables.
struct OffsiteOptions: ParsableArguments {
    @Option(help: "The config file with the [[offsite]] table (default: /etc/barge/barge.toml).") var config: String?

    var source: OffsiteSource { OffsiteSource(path: config ?? AgentConfiguration.defaultPath) }
}

/// A config file's [[offsite]] tables, resolved to targets and opened.
struct OffsiteSource {
    let path: String

    func settings(_ name: String) throws -> OffsiteSettings {
        try OffsiteTargets.named(name, in: try AgentConfiguration.loadOffsite(path: path), source: path)
    }

    /// The target, its retries told as warnings (a cut network is not silent for minutes).
    func target(_ name: String) throws -> OffsiteTarget {
        var target = try OffsiteTargets.resolve(try settings(name))
        target.onRetry = { Terminal.warning($0) }
        return target
    }

    /// `memory`: this node's directory for the newest catalog generation it saw.
    func open(_ name: String, memory: String? = nil) throws -> OffsiteRepository {
        let resolved = try target(name)
        return try AsyncBridge.wait { () async throws(OffsiteError) in try await OffsiteRepository.open(resolved, memory: memory) }
    }
}

/// A progress line the async side may update.
final class SharedProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let line = ProgressLine()
    func update(_ text: String) { lock.withLock { line.update(text) } }
    func finish() { lock.withLock { line.finish() } }
}

struct OffsiteKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Write a new random key file (mode 600) for an [[offsite]] target.",
        discussion: "Keep a copy of the key outside the cluster: without it nothing in the bucket can be read. An existing file is never replaced.")
    @Flag(help: "Print one JSON document on stdout instead of text.") var json = false
    @Argument(help: "The key file to create.") var file: String

    func run() throws {
        let key = try OffsiteKey.generate(path: file)
        if json { Terminal.json(["key_file": file, "fingerprint": key.fingerprint]) } else {
            print("wrote key \(key.fingerprint) to \(file); keep a copy off the cluster")
        }
    }
}

struct OffsiteInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the bucket (if needed) and the copy's config object.")
    @Flag(help: "Print one JSON document on stdout instead of text.") var json = false
    @OptionGroup var options: OffsiteOptions
    @Argument(help: "The [[offsite]] target.") var name: String

    func run() throws {
        let target = try options.source.target(name)
        let (repository, created) = try AsyncBridge.wait { () async throws(OffsiteError) in try await OffsiteRepository.initialize(target) }
        if json {
            Terminal.json(["target": name, "created": created, "key_fingerprint": repository.keyFingerprint])
        } else {
            print(created ? "initialized \(target.describe) with key \(repository.keyFingerprint)"
                          : "\(target.describe) was initialized before; it opens with key \(repository.keyFingerprint)")
        }
    }
}

struct OffsitePushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Upload a snapshot of a volume (the newest by default) to an [[offsite]] target.",
        discussion: "Only what the bucket lacks is sent. Safe to interrupt: a new run sends only what is still missing. The agent does this by itself for the volumes a target lists.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: OffsiteOptions
    @Argument(help: "The volume.") var volume: String
    @Option(name: .customLong("to"), help: "The [[offsite]] target.") var name: String
    @OptionGroup var choice: SnapshotChoice

    func run() throws {
        let repository = try options.source.open(name, memory: OffsiteSource.cache(global, name))
        let store = try Store(at: global.resolvedStateDirectory, access: .read)
        let snapshot = try SnapshotEngine(stateDirectory: global.resolvedStateDirectory).resolve(volume: volume, choice.selector, in: store)
        let progress = SharedProgress()
        let uploader = OffsiteUploader(store: store, repository: repository, cache: OffsiteSource.cache(global, name)) {
            progress.update("uploading \(volume): \($0.blobsDone)/\($0.blobsTotal) blobs, \(Terminal.bytes($0.bytesUploaded))")
        }
        let report = try AsyncBridge.wait { () async throws(OffsiteError) in try await uploader.upload(snapshot) }
        progress.finish()
        if global.json { return Terminal.json(Self.json(report)) }
        if report.alreadyThere {
            print("snapshot \(snapshot.id.short) of \(volume) is already on \(name)")
        } else {
            print("uploaded snapshot \(snapshot.id.short) of \(volume) to \(name): \(report.blobsUploaded) of \(report.blobsNeeded) blobs in \(report.packsUploaded) packs, "
                  + "\(Terminal.bytes(report.bytesUploaded)) in \(String(format: "%.2f", report.seconds)) s (catalog generation \(report.catalogGeneration))")
        }
    }

    static func json(_ report: UploadReport) -> [String: Any] {
        ["volume": report.volume, "snapshot": report.snapshot, "already_there": report.alreadyThere,
         "blobs_needed": report.blobsNeeded, "blobs_uploaded": report.blobsUploaded, "packs_uploaded": report.packsUploaded,
         "bytes_uploaded": report.bytesUploaded, "catalog_generation": report.catalogGeneration, "seconds": report.seconds]
    }
}
