import ArgumentParser
import Repository

struct RepairIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair-index", abstract: "Rebuild index.sqlite from the packs alone.",
        discussion: "The old index is kept beside the new one as index.sqlite.replaced-TIME; nothing is deleted.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let report = try IndexRebuilder(directory: global.resolvedStateDirectory).run()
        if global.json {
            Terminal.json(["packs": report.packs, "blobs": report.blobs, "snapshots": report.snapshots,
                           "volumes": report.volumes, "skipped_records": report.skippedRecords,
                           "old_index": report.oldIndex ?? "", "notes": report.notes] as [String: Any])
        } else {
            for note in report.notes { Terminal.warning(note) }
            print("rebuilt the index from \(report.packs) packs: \(report.blobs) blobs, \(report.snapshots) snapshots, \(report.volumes) volumes")
            if let old = report.oldIndex { print("the previous index is kept at \(old)") }
        }
    }
}

