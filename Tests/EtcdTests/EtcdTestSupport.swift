import Etcd
import Foundation
import Testing
import TestSupport

/// A client for `cluster` (all its members as endpoints unless given).
func makeClient(_ endpoints: [String], _ configure: (inout EtcdConfiguration) -> Void = { _ in }) -> EtcdClient {
    var configuration = EtcdConfiguration(endpoints: endpoints)
    configure(&configuration)
    return EtcdClient(configuration: configuration)
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Runs `body`, requiring it to fail with an EtcdError; returns that error.
func etcdFailure<T>(_ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation) async -> EtcdError? {
    do {
        let value = try await body()
        Issue.record("expected an EtcdError, got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as EtcdError {
        return error
    } catch {
        Issue.record("expected an EtcdError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Reads a watch until it has `count` events, or fails after `limit`.
func collect(_ stream: AsyncThrowingStream<EtcdWatchBatch, any Error>, events count: Int,
             within limit: Duration = .seconds(10)) async throws -> [EtcdWatchBatch] {
    try await withThrowingTaskGroup(of: [EtcdWatchBatch]?.self) { group in
        group.addTask {
            var batches: [EtcdWatchBatch] = []
            for try await batch in stream {
                batches.append(batch)
                if batches.reduce(0, { $0 + $1.events.count }) >= count { return batches }
            }
            return batches
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let batches = first else {
            throw EtcdCluster.Failure(description: "no \(count) watch events within \(limit)")
        }
        return batches
    }
}

/// How a watch ends: the error it throws within `limit`, else nil.
func ending(of stream: AsyncThrowingStream<EtcdWatchBatch, any Error>, within limit: Duration) async -> (any Error)? {
    await withTaskGroup(of: (any Error)?.self) { group in
        group.addTask {
            do {
                for try await _ in stream {}
                return EtcdCluster.Failure(description: "the watch ended without an error")
            } catch {
                return error
            }
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        return await group.next() ?? nil
    }
}

/// Polls `condition` every 100 ms until it holds or `limit` passes.
func eventually(within limit: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + limit
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
