import Glibc
import Testing

@testable import AppInbox

@Suite("Descriptors")
struct DescriptorsTests {
    @Test func openCountFollowsWhatTheProcessOpens() throws {
        let before = try #require(Descriptors.openCount())
        let fds = (0..<50).map { _ in open("/dev/null", O_RDONLY | O_CLOEXEC) }
        #expect(fds.allSatisfy { $0 >= 0 })
        let during = try #require(Descriptors.openCount())
        for fd in fds { close(fd) }
        // Tests running alongside may open and close a few descriptors meanwhile; ours are 50.
        #expect(during >= before + 40)
        #expect(try #require(Descriptors.openCount()) <= during - 40)
    }

    @Test func raisingTheLimitNeverLowersIt() throws {
        let before = try #require(Descriptors.limit)
        let after = try #require(Descriptors.raiseLimit())
        #expect(after >= before)
        #expect(Descriptors.limit == after)
    }
}
