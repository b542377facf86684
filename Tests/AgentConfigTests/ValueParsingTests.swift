@testable import AgentConfig
import Testing

@Suite struct ValueParsingTests {
    @Test(arguments: [
        ("0.0.0.0:7420", "0.0.0.0", 7420),
        ("d1.example.net:1", "d1.example.net", 1),
        ("[::1]:65535", "::1", 65535),
        ("[::]:7420", "::", 7420),
        ("[fe80::1%eth0]:7420", "fe80::1%eth0", 7420),
        ("localhost:80", "localhost", 80),
    ])
    func hostPortParses(_ text: String, _ host: String, _ port: Int) {
        let value = HostPort(text)
        #expect(value == HostPort(host: host, port: port))
        #expect(value?.description == text)
    }

    @Test(arguments: [
        "", ":", "host", "host:", ":7420", "host:0", "host:65536", "host:+80", "host:-1", "host:80x",
        "::1:7420", "[::1]", "[::1]7420", "[]:7420", "[host]:7420", "[::1:7420", "a b:7420", "host:0007420",
    ])
    func hostPortRejects(_ text: String) {
        #expect(HostPort(text) == nil)
    }

    @Test(arguments: [
        ("100ms", 0.1), ("1s", 1), ("90s", 90), ("1.5s", 1.5), ("5m", 300), ("1h", 3600), ("2 m", 120), ("0s", 0),
        ("7d", 604_800), ("2w", 1_209_600), ("1.5d", 129_600),
    ])
    func durationsParse(_ text: String, _ seconds: Double) {
        #expect(Quantity.seconds(text) == seconds)
    }

    @Test(arguments: ["", "s", "60", "-1s", "+1s", "1e3s", "1.s", ".5s", "1y", "1 h ", "1  s", "1S", "1sec", "1,5s"])
    func durationsReject(_ text: String) {
        #expect(Quantity.seconds(text) == nil)
    }

    @Test(arguments: [
        ("1B", 1.0), ("4KiB", 4096), ("64KiB", 65536), ("1MiB", 1_048_576), ("2GiB", 2_147_483_648),
        ("1KB", 1000), ("1.5MB", 1_500_000), ("3GB", 3e9),
    ])
    func sizesParse(_ text: String, _ bytes: Double) {
        #expect(Quantity.bytes(text) == bytes)
    }

    @Test(arguments: [("20MiB/s", 20_971_520.0), ("1B/s", 1), ("100 KB/s", 100_000)])
    func ratesParse(_ text: String, _ bytes: Double) {
        #expect(Quantity.bytesPerSecond(text) == bytes)
    }

    @Test(arguments: ["20MiB", "20mib/s", "20Mbit/s", "20MiB/sec", "/s", "MiB/s", "-1MiB/s", "20 MiB /s", "1TiB/s"])
    func ratesReject(_ text: String) {
        #expect(Quantity.bytesPerSecond(text) == nil)
    }

    @Test(arguments: [
        ("d0", true), ("0", true), ("node-1.lab", true), (String(repeating: "a", count: 63), true),
        ("", false), ("D0", false), ("-d0", false), (".d0", false), ("d_0", false), ("d0/x", false),
        ("dé", false), (String(repeating: "a", count: 64), false),
    ])
    func namesFollowTheRule(_ name: String, _ valid: Bool) {
        #expect(TableReader.isValidName(name) == valid)
    }

    @Test(arguments: [
        ("/a", "/a", "is also"), ("/a/b", "/a", "is inside"), ("/a", "/a/b", "contains"),
        ("/ab", "/a", nil), ("/a", "/ab", nil), ("/a/b", "/a/c", nil),
    ] as [(String, String, String?)])
    func overlappingPathsAreFound(_ a: String, _ b: String, _ relation: String?) {
        #expect(ConfigReader.overlap(a, b) == relation)
    }

    @Test func editDistanceSuggestsNearKeys() {
        #expect(TableReader.editDistance("lisen", "listen") == 1)
        #expect(TableReader.editDistance("", "abc") == 3)
        #expect(TableReader.editDistance("interval", "interval") == 0)
        #expect(TableReader.editDistance("owner", "replicas") > 2)
    }
}
