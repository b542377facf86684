import AgentConfig
import Cluster
import Dispatch
import Etcd
import Foundation
import Identity
import Logging
import NIOSSL
import Ownership
import ServiceLifecycle
import Synchronization

/// The agent's side of `[cluster]`: one etcd lease for its liveness, owner
/// records bound to the owners' leases, elections when an owner's lease
/// expires, and self-fencing when this node cannot prove its own lease.
/// Decisions stay in VolumeOwnership, Election and LeaseGuard; this type
/// only talks to etcd and hands what it learns to them.
final class ClusterCoordinator: Sendable {
    let core: AgentCore
    let settings: ClusterSettings
    let client: EtcdClient
    let keys: ClusterKeys
    let state: Mutex<State>

    struct State {
        var leaseGuard: LeaseGuard
        var lease: Int64?
        var published: [String: HeldSnapshot] = [:]
        /// Records naming this node at a token it has not carried out yet, since when (monotonic ns).
        var pendingOwn: [String: UInt64] = [:]
        /// Wakes the sweep early (a watch event, a lease restored, a new held snapshot).
        var nudged = false
    }

    init(core: AgentCore, settings: ClusterSettings) throws {
        self.core = core
        self.settings = settings
        self.keys = ClusterKeys(prefix: settings.prefix)
        var tls: NIOSSLContext?
        if settings.endpoints.contains(where: { $0.hasPrefix("https://") }) {
            tls = try TLSIdentity.etcdClientContext(ca: settings.ca, certificate: settings.certificate, key: settings.key)
        }
        var credentials: EtcdCredentials?
        if let user = settings.user, let file = settings.passwordFile {
            guard let password = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AgentError(message: "cannot read [cluster] password_file \(file)", exitCode: 2)
            }
            credentials = EtcdCredentials(user: user, password: password.trimmingCharacters(in: .newlines))
        }
        let guardian = LeaseGuard(ttlSeconds: settings.leaseTTLSeconds)
        let timeout = Duration.nanoseconds(Int64(guardian.keepaliveInterval))
        client = EtcdClient(configuration: EtcdConfiguration(endpoints: settings.endpoints, tls: tls, credentials: credentials,
                                                            requestTimeout: max(timeout, .milliseconds(300))), group: core.group)
        state = Mutex(State(leaseGuard: guardian))
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func nudge() { state.withLock { $0.nudged = true } }

    /// How much proved lease a container start needs ahead of it: a quarter of the TTL.
    var startMargin: UInt64 { UInt64(settings.leaseTTLSeconds) * 250_000_000 }

    /// Until when this node's lease is proved (nil: it is not); a container's guard stops it then.
    var fenceDeadline: UInt64? { state.withLock { $0.leaseGuard.fenceDeadline } }

    var logger: Logger { core.logger }

    /// Until shutdown: hold a lease, and when it is lost, take a new one.
    func run() async {
        // Until this node holds its owner keys under a live lease, it cannot prove it owns anything.
        for volume in core.config.volumes where (try? core.ownership(volume.name))?.owner == core.node {
            core.suspended.withLock { _ = $0.insert(volume.name) }
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watchdog() }
            group.addTask { await self.sweepLoop() }
            group.addTask { await self.watchOwners() }
            while !Task.isCancelled {
                do {
                    try await holdLease()
                } catch is CancellationError {
                    break
                } catch {
                    logger.warning("etcd lease: \(error)")
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
            group.cancelAll()
        }
        await shutdown()
    }

    /// Grants a lease, publishes this node, and keeps the lease alive until
    /// etcd says it is gone (returns then) or the task is cancelled.
    private func holdLease() async throws {
        let sent = Self.now()
        let lease = try await client.grantLease(ttl: Int64(settings.leaseTTLSeconds))
        count()
        state.withLock {
            $0.leaseGuard.lost()
            $0.leaseGuard.confirmed(sentAt: sent)
            $0.lease = lease.id
            $0.published = [:]
        }
        let record = NodeRecord(node: core.node, address: "\(core.config.node.listen)", startedNanoseconds: Int64(core.startedAt.timeIntervalSince1970 * 1e9))
        // Held snapshots first: a node key without them would let a staler member win meanwhile.
        await publishHeld()
        _ = try await client.put(keys.node(core.node), record.encoded(), lease: lease.id)
        count()
        logger.notice("etcd lease granted", metadata: ["lease": "\(lease.id)", "ttl_s": "\(lease.ttl)"])
        nudge()
        let interval = state.withLock { $0.leaseGuard.keepaliveInterval }
        var due = sent + interval
        while !Task.isCancelled {
            // One keepalive every interval from the last one sent, not an interval after the last
            // answer: a keepalive that timed out is followed at once, else the next one is sent
            // only at TTL/2 and the containers' guards stop them (seen when etcd's leader died).
            let now = Self.now()
            if due > now { try await Task.sleep(for: .nanoseconds(Int64(due - now))) }
            let sent = Self.now()
            due = sent + interval
            do {
                let remaining = try await client.keepAlive(lease.id)
                count()
                guard remaining != nil else {
                    state.withLock { $0.leaseGuard.lost(); $0.lease = nil }
                    logger.error("etcd lease expired: this node's owner records are gone; taking a new lease")
                    return
                }
                if let deadline = state.withLock({ $0.leaseGuard.confirmed(sentAt: sent); return $0.leaseGuard.fenceDeadline }) {
                    let stopped = core.guards.extend(to: deadline)
                    if !stopped.isEmpty {
                        logger.error("the guard stopped the container of \(stopped.joined(separator: ", ")) (the lease was not proved in time); fencing, then starting it again")
                        state.withLock { $0.leaseGuard.guardStoppedContainer() }
                    }
                }
                // A start refused for want of lease margin is retried now.
                if core.suspended.withLock({ !$0.isEmpty }) { nudge() }
            } catch {
                count()
                logger.warning("etcd keepalive failed: \(error)")
            }
        }
    }

    /// Fences every volume this node owns once the lease can no longer be
    /// proved alive, and un-fences (through the sweep) once it can.
    private func watchdog() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
            let now = Self.now()
            switch state.withLock({ $0.leaseGuard.watch(now: now) }) {
            case .fence?:
                logger.error("etcd lease not confirmed for half its TTL: stopping the containers of the volumes this node owns")
                await fenceOwnedVolumes()
            case .unfence?:
                nudge()
            case nil:
                break
            }
        }
    }

    /// No volume lock: a long snapshot must not delay a fence.
    func fenceOwnedVolumes() async {
        await withDiscardingTaskGroup { group in
            for volume in core.config.volumes where volume.members.contains(core.node) {
                group.addTask {
                    do { try await self.core.decide(volume) { $0.leaseLost() } } catch {
                        self.logger.critical("self-fencing \(volume.name): \(error); the container may still run")
                    }
                }
            }
        }
    }

    /// Stopping: containers stop (once this node stops renewing its lease,
    /// another will be elected), then the lease is revoked so that happens now.
    private func shutdown() async {
        await fenceOwnedVolumes()
        guard let lease = state.withLock({ $0.lease }) else { return }
        do { try await client.revokeLease(lease) } catch { logger.warning("revoking the etcd lease at shutdown: \(error)") }
    }

    /// Owner records as they change: learned at once; a deleted one (its
    /// owner's lease expired) starts an election in the sweep.
    private func watchOwners() async {
        var from: Int64 = 0
        while !Task.isCancelled {
            do {
                if from == 0 { from = try await client.range(prefix: keys.owners).header.revision + 1 }
                for try await batch in client.watch(prefix: keys.owners, fromRevision: from) {
                    from = batch.header.revision + 1
                    for event in batch.events {
                        guard case let .put(kv) = event, let volume = keys.name(in: kv.key, below: keys.owners) else {
                            nudge()
                            continue
                        }
                        await learnOwner(volume, kv)
                    }
                }
            } catch is CancellationError {
                return
            } catch let error as EtcdError where error.code == .compacted {
                from = 0
                nudge()
            } catch {
                logger.warning("watching owner records: \(error)")
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func count(_ requests: Int = 1) { core.metrics.etcdRequests(requests) }
}

/// Runs the coordinator as one of the agent's services.
struct ClusterService: Service {
    let coordinator: ClusterCoordinator

    func run() async throws {
        try await withTaskExecutorPreference(LivenessExecutor.shared) {
            try await runUntilShutdown { await coordinator.run() }
        }
    }
}
