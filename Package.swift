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
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C libraries from Debian, one importer each.
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"])]),
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
            "CZstd", "CLZ4", "CLinux",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Scan, restore, diff and verify of volume trees.
        .target(name: "Snapshots", dependencies: [
            "Chunking", "Repository", "Retention", "CLinux", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Which snapshots a retention policy keeps, and why; pure.
        .target(name: "Retention"),
        // Who owns each volume at which epoch: the pure state machine the agent carries out.
        .target(name: "Ownership"),
        // etcd key layout, records, election ranking and the lease timing rule; pure.
        .target(name: "Cluster"),
        // Frames of the peer protocol: encode, bounds-checked decode. No I/O, no
        // dependencies, so the fuzz target compiles it alone.
        .target(name: "Wire"),
        // Offer, tree walk, chunk requests and deltas between two stores.
        .target(name: "Replication", dependencies: ["Wire", "Repository", "Snapshots", "Delta"]),
        // The cluster CA, node certificates and mutual-TLS contexts.
        .target(name: "Identity", dependencies: [
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The agent's TOML config, validated with file:line errors, and the volume path rule
        // `barge volume add` applies too.
        .target(name: "AgentConfig", dependencies: ["Retention", .product(name: "TOMLKit", package: "TOMLKit")]),
        // Control-socket messages and the CLI's client for them.
        .target(name: "Control", dependencies: ["Retention"]),
        // The long-running node agent: peer server, scheduler, standby copies, control socket, metrics.
        .target(name: "Agent", dependencies: [
            "AgentConfig", "Control", "Identity", "Ownership", "Cluster", "Etcd", "Replication", "Snapshots", "Repository", "Retention", "Wire",
            "Offsite", "S3",
            "CLinux",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // One file per subcommand.
        .target(name: "BargeCLI", dependencies: [
            "Snapshots", "Repository", "Retention", "Agent", "AgentConfig", "Control", "Identity", "Offsite", "CLinux",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "barge", dependencies: ["BargeCLI"]),
        // etcd v3 client over its JSON gateway: leases, fencing txns, watches.
        .target(name: "Etcd", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // S3 for off-site copies: Signature Version 4 signing and the few object calls barge makes.
        .target(name: "S3", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // The encrypted off-site copy of snapshots in a bucket: object layout, sealing, upload, import.
        .target(name: "Offsite", dependencies: [
            "S3", "Repository", "Snapshots", "Retention",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),


        // Seeded test data shared by the test targets.
        .target(name: "TestSupport", dependencies: ["Chunking"], path: "Tests/Support"),
        .testTarget(name: "ChunkingTests", dependencies: ["Chunking", "TestSupport"]),
        .testTarget(name: "DeltaTests", dependencies: ["Delta", "TestSupport"]),
        .testTarget(name: "RepositoryTests", dependencies: ["Repository", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "SnapshotsTests", dependencies: ["Snapshots", "Repository", "Retention", "TestSupport", "CLinux"]),
        .testTarget(name: "RetentionTests", dependencies: ["Retention"]),
        .testTarget(name: "AgentConfigTests", dependencies: ["AgentConfig", "Retention"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster"]),
        .testTarget(name: "OwnershipTests", dependencies: ["Ownership", "TestSupport", "Chunking"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"]),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication"]),
        .testTarget(name: "EtcdTests", dependencies: ["Etcd", "TestSupport", .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .testTarget(name: "S3Tests", dependencies: ["S3", "TestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                   .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "OffsiteTests", dependencies: ["Offsite", "S3", "Repository", "Snapshots", "TestSupport"]),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "AgentConfig"]),
        .testTarget(name: "BargeCLITests", dependencies: ["BargeCLI", "Snapshots", "Repository", "Retention", "CLinux", "TestSupport", "Replication", "Wire"]),
    ],
    swiftLanguageModes: [.v6]
)
