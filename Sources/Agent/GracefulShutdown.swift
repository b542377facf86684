import ServiceLifecycle

/// Runs a service's work until SIGTERM: the graceful shutdown cancels it, and
/// that cancellation is the normal end, not a failure of the service.
func runUntilShutdown(_ operation: @Sendable @escaping () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown(operation)
    } catch is CancellationError {
        return
    }
}
