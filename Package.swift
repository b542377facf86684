// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "barge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "barge", targets: ["barge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian, one importer each.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLibrsync", path: "Sources/CLibrsync",
                       providers: [.apt(["librsync-dev"])]),

        // Linux system calls the Glibc overlay does not import.
        .target(name: "CLinux"),

        // FastCDC over buffers; pure, no I/O.
        .target(name: "Chunking"),
        // librsync signature / delta / patch jobs over buffers.
        .target(name: "Delta", dependencies: ["CLibrsync"]),
        // Packs, compression and the SQLite index; owns the write-ordering invariant.
        .target(name: "Repository", dependencies: [
            "CZstd", "CLinux",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Scan, restore, diff and verify of volume trees.
        .target(name: "Snapshots", dependencies: ["Chunking", "Repository", "CLinux"]),
        // One file per subcommand.
        .target(name: "BargeCLI", dependencies: [
            "Snapshots", "Repository",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "barge", dependencies: ["BargeCLI"]),

        // Seeded test data shared by the test targets.
        .target(name: "TestSupport", dependencies: ["Chunking"], path: "Tests/Support"),
        .testTarget(name: "ChunkingTests", dependencies: ["Chunking", "TestSupport"]),
        .testTarget(name: "DeltaTests", dependencies: ["Delta", "TestSupport"]),
        .testTarget(name: "RepositoryTests", dependencies: ["Repository", "TestSupport"]),
        .testTarget(name: "SnapshotsTests", dependencies: ["Snapshots", "Repository", "TestSupport"]),
        .testTarget(name: "BargeCLITests", dependencies: ["BargeCLI", "Snapshots", "Repository", "CLinux", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
