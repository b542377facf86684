@testable import Etcd
import Testing

@Suite struct EtcdKeyTests {
    @Test(arguments: [
        ([UInt8]("/owner/".utf8), [UInt8]("/owner0".utf8)),
        ([0x61, 0xff], [0x62]),
        ([0x61, 0xff, 0xff], [0x62]),
        ([0xff, 0xff], [0x00]),
        ([], [0x00]),
        ([0x00], [0x01]),
    ])
    func prefixEnd(_ prefix: [UInt8], _ end: [UInt8]) {
        #expect(EtcdKey.prefixEnd(prefix) == end)
    }

    @Test func endpointsParse() {
        #expect(Endpoint("http://127.0.0.1:2379")?.description == "http://127.0.0.1:2379")
        #expect(Endpoint("https://etcd.example:443/")?.description == "https://etcd.example:443")
        #expect(Endpoint("http://[::1]:23790")?.host == "::1")
        #expect(Endpoint("http://[::1]:23790")?.authority == "[::1]:23790")
        #expect(Endpoint("http://host")?.port == 2379)
        for bad in ["127.0.0.1:2379", "ftp://h:1", "http://", "http://h:0", "http://h:99999", "http://h:1/v3", "http://u@h:1", "http://h:x"] {
            #expect(Endpoint(bad) == nil, "\(bad)")
        }
    }
}
