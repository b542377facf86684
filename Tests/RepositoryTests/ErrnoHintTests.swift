import Foundation
import Testing
@testable import Repository

struct ErrnoHintCase: Codable, Sendable, CustomTestStringConvertible {
    let errno: String
    let contains: String?
    var testDescription: String { errno }
}

@Suite struct ErrnoHintTests {
    static let cases = TestData.cases("repository/errno-hints.json", of: ErrnoHintCase.self)

    static let values: [String: Int32] = [
        "EMFILE": EMFILE, "ENFILE": ENFILE, "ENOSPC": ENOSPC, "EDQUOT": EDQUOT, "EACCES": EACCES,
        "EPERM": EPERM, "EROFS": EROFS, "EIO": EIO, "ENOENT": ENOENT, "EEXIST": EEXIST,
    ]

    @Test func casesAreLoaded() { #expect(Self.cases.count >= 10) }

    @Test(arguments: cases)
    func hint(_ testCase: ErrnoHintCase) throws {
        let code = try #require(Self.values[testCase.errno], "unknown errno name \(testCase.errno)")
        let error = RepositoryError.system("open", path: "/x", errno: code)
        #expect(error.message == "open /x: \(String(cString: strerror(code)))")
        if let word = testCase.contains {
            #expect(error.hint?.contains(word) == true, "\(error)")
        } else {
            #expect(error.hint == nil, "\(error)")
        }
        #expect(RepositoryError.system("open", path: "/x", errno: code, hint: "given").hint == "given", "a caller's own hint wins")
    }
}
