@testable import AgentConfig
import Testing

/// Line lookups for layouts the vectors do not each repeat.
@Suite struct SourceMapTests {
    let text = """
        # comment [not] a = 1
        top = 1
        [node]
        name = "d0" # trailing [comment]
        [[volume]]
        name = "a"
        [volume.hooks]
        start = \"\"\"
        [[volume]]
        name = "not a key"
        \"\"\"
        [[volume]]
          "name" = 'b'
        list = [
          [1, 2],
          { x = 1 },
        ]
        extra.stop = "x"
        [ volume . hooks ]
        timeout = "1s"
        """

    @Test func linesOfKeysAndHeaders() {
        let map = SourceMap(text: text)
        #expect(map.line(of: ["top"]) == 2)
        #expect(map.line(of: ["node"]) == 3)
        #expect(map.line(of: ["node", "name"]) == 4)
        #expect(map.line(of: ["volume", "[0]"]) == 5)
        #expect(map.line(of: ["volume", "[0]", "name"]) == 6)
        #expect(map.line(of: ["volume", "[0]", "hooks"]) == 7)
        #expect(map.line(of: ["volume", "[0]", "hooks", "start"]) == 8)
        #expect(map.line(of: ["volume", "[1]"]) == 12)
        #expect(map.line(of: ["volume", "[1]", "name"]) == 13)
        #expect(map.line(of: ["volume", "[1]", "list"]) == 14)
        #expect(map.line(of: ["volume", "[1]", "extra", "stop"]) == 18)
        #expect(map.line(of: ["volume", "[1]", "hooks", "timeout"]) == 20)
    }

    @Test func missingKeysFallBackToTheirTable() {
        let map = SourceMap(text: text)
        #expect(map.line(of: ["node", "listen"]) == 3)
        #expect(map.line(of: ["volume", "[0]", "owner"]) == 5)
        // An element the text does not have (an inline array) resolves to the array's key.
        #expect(map.line(of: ["volume", "[2]", "name"]) == 5)
        #expect(map.line(of: ["tls", "ca"]) == nil)
        #expect(map.line(of: []) == nil)
    }

    @Test func crlfLineEndingsCount() {
        let map = SourceMap(text: "[node]\r\nname = \"d0\"\r\n\r\n[tls]\r\nca = \"/c\"\r\n")
        #expect(map.line(of: ["node", "name"]) == 2)
        #expect(map.line(of: ["tls", "ca"]) == 5)
    }
}
