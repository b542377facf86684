import ArgumentParser
import Foundation
import Repository
import Snapshots

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check the store; exit 1 and name the damage if any is found.",
        discussion: "Without --read-data every index row is checked against its pack record's header; with it every blob is decompressed and re-hashed.")

    @OptionGroup var global: GlobalOptions
    @Flag(name: .customLong("read-data"), help: "Decompress and re-hash every chunk and tree.") var readData = false
    @Flag(help: "Drop damaged blobs from the index, so `barge snapshot NAME --rehash` can store them again.")
    var repair = false

    func run() throws {
        let engine = SnapshotEngine(stateDirectory: global.resolvedStateDirectory)
        let progress = ProgressLine()
        let report = try engine.verify(readData: readData, repair: repair) { count in progress.update("\(count) blobs checked") }
        progress.finish()
        if global.json {
            Terminal.json([
                "ok": report.ok, "packs": report.packs, "blobs_checked": report.blobsChecked, "bytes_read": report.bytesRead,
                "snapshots_checked": report.snapshotsChecked, "notes": report.notes, "dropped": report.dropped,
                "collected_meanwhile": report.collectedMeanwhile,
                "damaged": report.damaged.map { ["pack": $0.pack, "blob": $0.blob, "kind": $0.kind, "error": $0.error,
                                                 "snapshots": $0.snapshots, "paths": $0.paths] },
            ] as [String: Any])
        } else {
            for note in report.notes { Terminal.warning(note) }
            for damage in report.damaged {
                print("DAMAGED \(damage.kind) \(damage.blob.prefix(12)) in \(damage.pack): \(damage.error)")
                for path in damage.paths { print("  affects \(path)") }
                if !damage.snapshots.isEmpty { print("  in snapshots \(damage.snapshots.map { String($0.prefix(12)) }.joined(separator: ", "))") }
            }
            print(report.ok
                  ? "ok: \(report.blobsChecked) blobs in \(report.packs) packs, \(report.snapshotsChecked) snapshots checked\(readData ? " (data re-hashed)" : "")"
                  : repair
                    ? "damage found: \(report.damaged.count) blobs, dropped from the index; run `barge snapshot VOLUME --rehash` to store what the live data still has"
                    : "damage found: \(report.damaged.count) blobs; restore the affected files from another snapshot, or run `barge verify --read-data --repair` then `barge snapshot VOLUME --rehash`")
        }
        if !report.ok { throw ExitCode(ExitStatus.error.rawValue) }
    }
}
