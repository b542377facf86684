import ArgumentParser
import Repository

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the state directory and an empty store.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let directory = global.resolvedStateDirectory
        try Store.initialize(at: directory)
        if global.json {
            Terminal.json(["state_dir": directory])
        } else {
            print("initialized barge store at \(directory)")
        }
    }
}
