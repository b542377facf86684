import ArgumentParser
import Foundation
import Offsite
import Retention

struct OffsiteVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check the copy in the bucket: catalog, indexes, packs, every tree; with --read-data every record.",
        discussion: "Exit 1 when anything is wrong; the problems are listed.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: OffsiteOptions
    @Argument(help: "The [[offsite]] target.") var name: String
    @Flag(name: .customLong("read-data"), help: "Fetch every pack and check every record against its id.") var readData = false

    func run() throws {
        let repository = try options.source.open(name, memory: OffsiteSource.cache(global, name))
        let progress = SharedProgress()
        let verifier = OffsiteVerifier(repository: repository, cache: OffsiteSource.cache(global, name))
        let readData = self.readData
        let report = try AsyncBridge.wait { () async throws(OffsiteError) in
            try await verifier.verify(readData: readData) { done, total in progress.update("reading packs: \(done)/\(total)") }
        }
        progress.finish()
        if global.json {
            Terminal.json(["target": name, "snapshots": report.snapshots, "packs": report.packs, "blobs_checked": report.blobsChecked,
                           "bytes_read": report.bytesRead, "problems": report.problems, "clean": report.isClean, "seconds": report.seconds])
        } else {
            print("\(name): \(report.snapshots) snapshots, \(report.packs) packs, \(report.blobsChecked) blobs checked, "
                  + "\(Terminal.bytes(report.bytesRead)) read in \(String(format: "%.2f", report.seconds)) s: "
                  + (report.isClean ? "no problems" : "\(report.problems.count) problems"))
            for problem in report.problems { Terminal.error(problem) }
        }
        if !report.isClean { throw ExitCode(ExitStatus.error.rawValue) }
    }
}

struct OffsiteForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Drop snapshots of a volume from the copy by the target's [offsite.retention] policy.",
        discussion: "Only the catalog changes; `barge offsite gc` then deletes what no listed snapshot needs. The agent does both by itself after its uploads.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: OffsiteOptions
    @Argument(help: "The [[offsite]] target.") var name: String
    @Argument(help: "The volume.") var volume: String
    @Flag(name: .customLong("dry-run"), help: "Show what would go; change nothing.") var dryRun = false

    func run() throws {
        let settings = try options.source.settings(name)
        guard let policy = settings.retention else {
            throw OffsiteError(.notInitialized, "[[offsite]] \(name) has no [offsite.retention] table: it keeps every snapshot",
                               hint: "add one, e.g. keep_daily = 30 and keep_monthly = 12")
        }
        let repository = try options.source.open(name, memory: OffsiteSource.cache(global, name))
        let collector = OffsiteCollector(repository: repository, cache: OffsiteSource.cache(global, name))
        let (volume, dryRun) = (self.volume, self.dryRun)
        let report = try AsyncBridge.wait { () async throws(OffsiteError) in try await collector.forget(volume: volume, policy: policy, dryRun: dryRun) }
        if global.json {
            Terminal.json(["target": name, "volume": volume, "dry_run": dryRun, "forgotten": report.forgotten,
                           "kept": report.verdicts.filter(\.keep).map(\.id), "catalog_generation": report.catalogGeneration])
        } else {
            print("\(dryRun ? "would forget" : "forgot") \(report.forgotten.count) of \(report.verdicts.count) snapshots of \(volume) on \(name)")
            for id in report.forgotten { print("  \(id.prefix(12))") }
        }
    }
}

struct OffsiteGCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Delete the packs in the bucket that no listed snapshot needs.",
        discussion: "Uploads running meanwhile wait for it and then check that what they reuse is still there.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: OffsiteOptions
    @Argument(help: "The [[offsite]] target.") var name: String

    func run() throws {
        let repository = try options.source.open(name, memory: OffsiteSource.cache(global, name))
        let collector = OffsiteCollector(repository: repository, cache: OffsiteSource.cache(global, name))
        let report = try AsyncBridge.wait { () async throws(OffsiteError) in try await collector.collect() }
        if global.json {
            Terminal.json(["target": name, "live_blobs": report.liveBlobs, "packs_deleted": report.packsDeleted,
                           "packs_repacked": report.packsRepacked, "bytes_repacked": report.bytesRepacked, "packs_partly_dead": report.packsPartlyDead, "dead_bytes_kept": report.deadBytesKept,
                           "orphans_deleted": report.orphansDeleted, "bytes_deleted": report.bytesDeleted, "seconds": report.seconds])
        } else {
            print("gc on \(name): deleted \(report.packsDeleted) packs and \(report.orphansDeleted) orphans (\(Terminal.bytes(report.bytesDeleted))), "
                  + "repacked \(report.packsRepacked) (\(Terminal.bytes(report.bytesRepacked)) moved); "
                  + "\(report.packsPartlyDead) packs partly dead kept (\(Terminal.bytes(report.deadBytesKept))) in \(String(format: "%.2f", report.seconds)) s")
        }
    }
}

extension OffsiteSource {
    /// Where index copies are cached: the state directory when it exists, else none.
    static func cache(_ global: GlobalOptions, _ name: String) -> String? {
        let state = global.resolvedStateDirectory
        return FileManager.default.fileExists(atPath: state + "/index.sqlite") ? state + "/offsite-cache/" + name : nil
    }
}
