import Foundation

/// The messages of one watch stream, in order: the created message first,
/// then event batches, possibly ending with a cancel.
struct WatchMessages {
    let endpoint: Endpoint
    private(set) var created = false
    /// Set once a batch went to the consumer.
    var delivered = false

    init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    func decode(_ object: [UInt8]) throws(AttemptError) -> StreamEnvelope<WatchResponse> {
        do {
            return try JSONDecoder().decode(StreamEnvelope<WatchResponse>.self, from: Data(object))
        } catch {
            throw .fail(EtcdError(.badResponse, "\(endpoint)/v3/watch sent a message that does not decode", underlying: error))
        }
    }

    /// Notes the created message; turns a cancel into the error that ends the watch.
    mutating func check(_ response: WatchResponse, authenticating: Bool) -> AttemptError? {
        let wasCreated = created
        if response.created == true { created = true }
        guard response.canceled == true else {
            return created ? nil : .fail(EtcdError(.badResponse, "\(endpoint)/v3/watch sent events before creating the watch"))
        }
        if let compacted = response.compactRevision?.value, compacted > 0 {
            return .fail(EtcdError(.compacted, "the watch's start revision is compacted; history starts at \(compacted)",
                                   compactRevision: compacted))
        }
        let reason = response.cancelReason ?? "no reason given"
        if ["invalid auth token", "Unauthenticated", "user name is empty"].contains(where: reason.contains) {
            // A fresh token may help, but only before any event went out: a retry restarts from the first revision.
            if authenticating && !wasCreated { return .reauthenticate }
            return .fail(EtcdError(.unauthenticated, "etcd cancelled the watch: \(reason)"))
        }
        return .fail(EtcdError(.rejected, "etcd cancelled the watch: \(reason)"))
    }

    /// The events of a message as a batch, or nil for a message without events.
    func batch(_ response: WatchResponse) throws(AttemptError) -> EtcdWatchBatch? {
        guard let events = response.events, !events.isEmpty else { return nil }
        guard let header = response.header else {
            throw .fail(EtcdError(.badResponse, "\(endpoint)/v3/watch sent events without a header"))
        }
        var batch = EtcdWatchBatch(header: header.value, events: [])
        for event in events {
            guard let kv = event.kv?.keyValue else {
                throw .fail(EtcdError(.badResponse, "\(endpoint)/v3/watch sent an event without a key"))
            }
            switch event.type {
            case nil, "PUT": batch.events.append(.put(kv))
            case "DELETE": batch.events.append(.delete(kv))
            case let other?: throw .fail(EtcdError(.badResponse, "\(endpoint)/v3/watch sent an event of type \(other)"))
            }
        }
        return batch
    }
}
