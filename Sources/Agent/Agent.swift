import AgentConfig
import CLinux
import Foundation
import Identity
import Logging
import NIOPosix
import Repository
import ServiceLifecycle
import UnixSignals

/// `barge agent`: loads the config, opens the store for writing (for the
/// agent's whole life), and runs the services until SIGTERM. SIGHUP reloads.
public enum Agent {
    public static func run(configPath: String) async throws {
        LineLogHandler.bootstrap()
        // One malloc arena per thread (NIO, Dispatch, scans) inflates a long-running process's
        // memory for nothing; a few arenas serve its threads as well.
        _ = barge_limit_malloc_arenas(4)
        let config: AgentConfiguration
        do { config = try AgentConfiguration.load(path: configPath) } catch {
            throw AgentError(message: error.description, exitCode: 2)
        }
        var logger = Logger(label: "barge")
        logger[metadataKey: "node"] = "\(config.node.name)"
        let identity = try TLSIdentity(node: config.node.name, caPath: config.tls.ca, certificatePath: config.tls.certificate, keyPath: config.tls.key)
        let store = try openStore(config.node.stateDirectory)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let core = AgentCore(config: config, store: store, identity: identity, group: group, logger: logger)
        try core.register(config)
        let notifier = SystemdNotifier()
        var services: [any Service] = [
            PeerServer(core: core), ControlServer(core: core), MetricsServer(core: core),
            SnapshotScheduler(core: core), RetentionKeeper(core: core), OffsiteKeeper(core: core), Reseeder(core: core), Housekeeper(core: core, notifier: notifier, configPath: configPath),
        ]
        if let cluster = config.cluster {
            let coordinator = try ClusterCoordinator(core: core, settings: cluster)
            core.coordinator.withLock { $0 = coordinator }
            services.append(ClusterService(coordinator: coordinator))
        }
        let serviceGroup = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        logger.notice("agent starting", metadata: ["config": "\(configPath)", "state_dir": "\(config.node.stateDirectory)", "pid": "\(getpid())"])
        do {
            try await serviceGroup.run()
        } catch {
            notifier.notify("STOPPING=1\nSTATUS=failed: \(error)")
            try? await group.shutdownGracefully()
            throw error
        }
        notifier.notify("STOPPING=1")
        try? await group.shutdownGracefully()
        logger.notice("agent stopped")
    }

    static func openStore(_ directory: String) throws -> Store {
        if !FileManager.default.fileExists(atPath: Store.indexPath(in: directory)) {
            try Store.initialize(at: directory)
        }
        return try Store(at: directory, access: .write)
    }
}

public struct AgentError: Error, CustomStringConvertible {
    public let message: String
    public let exitCode: Int32
    public var description: String { message }
}

/// Readiness and watchdog for systemd, standby catch-up at start and retries, and SIGHUP reloads.
struct Housekeeper: Service {
    let core: AgentCore
    let notifier: SystemdNotifier
    let configPath: String

    func run() async throws {
        for volume in core.config.volumes where volume.members.contains(core.node) {
            await core.standby.schedule(volume.name, core: core)
        }
        notifier.notify("READY=1\nSTATUS=serving \(core.config.volumes.count) volumes")
        try await runUntilShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                if let interval = notifier.watchdogInterval {
                    group.addTask {
                        while !Task.isCancelled {
                            notifier.notify("WATCHDOG=1")
                            try await Task.sleep(for: interval)
                        }
                    }
                }
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: .sighup) { reload() }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(1))
                        for volume in await core.standby.dueRetries() { await core.standby.schedule(volume, core: core) }
                    }
                }
                // With [cluster], etcd's owner records decide instead (ClusterCoordinator).
                if core.config.cluster == nil { group.addTask { await core.reconcileAtStart() } }
            }
        }
    }

    private func reload() {
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(DispatchTime.now().uptimeNanoseconds / 1000)")
        defer { notifier.notify("READY=1") }
        do {
            let fresh = try AgentConfiguration.load(path: configPath)
            let old = core.config
            if fresh.node != old.node || fresh.tls != old.tls {
                core.logger.warning("reload: [node] and [tls] changes take effect only after a restart")
            }
            var applied = fresh
            applied.node = old.node
            applied.tls = old.tls
            try core.replace(config: applied)
            core.logger.notice("configuration reloaded", metadata: ["volumes": "\(fresh.volumes.count)", "peers": "\(fresh.peers.count)"])
        } catch {
            core.metrics.error("reload")
            core.logger.error("reload failed, keeping the running configuration: \(error)")
        }
    }
}
