import AgentConfig
import Foundation
import Testing
@testable import Agent

/// The agent and its containers' guard processes share one file per volume.
/// The test plays the guard's side (`ContainerGuards.watch`) itself; the
/// guard process it starts is /bin/true, which exits at once.
@Suite struct ContainerGuardTests {
    static func scratch() throws -> String {
        let root = NSTemporaryDirectory() + "barge-guard-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    static func volume(_ root: String) -> VolumeSettings {
        VolumeSettings(name: "app", path: root + "/app", owner: "n1", hooks: VolumeHooks(stop: "true"))
    }

    /// A guard that fired (its deadline passed, a keepalive came a few ms late)
    /// is reported at the agent's next extension, once: the agent must not take
    /// that container for running.
    @Test func aGuardThatFiredIsReportedOnce() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let guards = ContainerGuards(stateDirectory: root)
        try guards.start(Self.volume(root), epoch: 7, deadline: 1, barge: "/bin/true")
        #expect(ContainerGuards.watch(deadlineFile: guards.deadlinePath("app")), "a deadline in the past fires")
        #expect(guards.extend(to: .max) == ["app"])
        #expect(guards.extend(to: .max) == [], "reported once: that guard is gone")
        #expect(!FileManager.default.fileExists(atPath: guards.deadlinePath("app")))
    }

    /// The agent stopped the container itself: its guard does not fire, and nothing is reported.
    @Test func aStoppedContainersGuardDoesNotFire() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let guards = ContainerGuards(stateDirectory: root)
        try guards.start(Self.volume(root), epoch: 7, deadline: 1, barge: "/bin/true")
        guards.stop("app")
        #expect(!ContainerGuards.watch(deadlineFile: guards.deadlinePath("app")))
        #expect(guards.extend(to: .max) == [])
    }

    /// A guard that fired for an earlier container does not fence the one started after it.
    @Test func aNewStartForgetsAnEarlierFiring() throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let guards = ContainerGuards(stateDirectory: root)
        try guards.start(Self.volume(root), epoch: 7, deadline: 1, barge: "/bin/true")
        #expect(ContainerGuards.watch(deadlineFile: guards.deadlinePath("app")))
        try guards.start(Self.volume(root), epoch: 7, deadline: .max, barge: "/bin/true")
        #expect(guards.extend(to: .max) == [])
    }

    /// A guard that fired may still be running the stop hook: the next start waits for it to
    /// exit, else that hook could stop the new container. The stand-in guard takes 0.3 s.
    @Test func aNewStartWaitsForTheLastGuardToExit() async throws {
        let root = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let script = root + "/slow-guard"
        try "#!/bin/sh\nsleep 0.3\ntouch '\(root)/exited'\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let guards = ContainerGuards(stateDirectory: root)
        try await guards.settle(Self.volume(root))   // no guard yet: returns at once
        try guards.start(Self.volume(root), epoch: 7, deadline: .max, barge: script)
        try await guards.settle(Self.volume(root))
        #expect(FileManager.default.fileExists(atPath: root + "/exited"), "settle returned before the guard exited")
    }
}
