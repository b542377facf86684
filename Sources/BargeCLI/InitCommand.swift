import ArgumentParser
import Repository

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create the state directory and an empty store.")

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Codec of new blobs: zstd (the default: smaller) or lz4 (faster on trees of binaries and compressed files, larger). On an existing store this changes the codec of blobs written from now on (stop its agent first).",
                               valueName: "codec"))
    var compression: String?

    func run() throws {
        let directory = global.resolvedStateDirectory
        var codec: Compression?
        if let compression {
            guard let named = Compression(name: compression), named != .none else {
                throw ValidationError("unknown compression '\(compression)': choose lz4 or zstd")
            }
            codec = named
        }
        let store = try Store.initialize(at: directory, compression: codec, access: .read)
        if global.json {
            Terminal.json(["state_dir": directory, "compression": store.compression.name])
        } else {
            print("initialized barge store at \(directory) (new blobs: \(store.compression.name))")
        }
    }
}
