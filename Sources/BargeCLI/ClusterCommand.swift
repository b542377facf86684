import ArgumentParser
import Control
import Foundation

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "What etcd holds for this barge cluster (with [cluster] in the agent's config).",
        subcommands: [Status.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show etcd's members of this barge cluster, their leases, each volume's owner and token, and recent takeovers (asks the agent).")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var agent: AgentOptions

        func run() throws {
            let response = try agent.send(ControlRequest(command: .clusterStatus), to: try agent.resolvedSocket())
            guard let report = response.cluster else { throw ExitCode(ExitStatus.error.rawValue) }
            if global.json {
                print(String(decoding: try ControlJSON.encoder().encode(report), as: UTF8.self))
                return
            }
            let lease = report.lease.map { "lease \($0) \(report.leaseAlive ? "alive" : "NOT CONFIRMED")" } ?? "no lease"
            print("etcd \(report.endpoints.joined(separator: ", "))  cluster \(report.etcdCluster ?? "?")  prefix \(report.prefix)  TTL \(report.leaseSeconds) s")
            print("asked \(report.node): \(lease)")
            print("\nmembers alive:")
            for member in report.members { print("  \(member.node)  \(member.address)  lease \(member.lease)") }
            if report.members.isEmpty { print("  none") }
            print("\nvolumes:")
            for owner in report.owners {
                let who = owner.owner.map { "owner \($0)  token \(owner.token ?? 0)  lease \(owner.lease ?? "-")" } ?? "NO OWNER (an election is due)"
                print("  \(owner.volume)  \(who)")
                for (node, held) in owner.held.sorted(by: { $0.key < $1.key }) { print("    \(node) holds \(held)") }
            }
            if !report.events.isEmpty {
                print("\nrecent takeovers:")
                for event in report.events {
                    print("  \(event.at)  \(event.volume): \(event.kind) by \(event.owner) from \(event.previousOwner) at token \(event.token), "
                          + "snapshot \(event.snapshot.prefix(12)), \(String(format: "%.1f", event.dataLossSeconds)) s of writes lost")
                }
            }
        }
    }
}
