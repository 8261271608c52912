import Testing

@testable import AppInbox

@Suite("UpstreamAdmission")
struct UpstreamAdmissionTests {
    /// While eSputnik answers, a burst up to the whole cap is admitted: it queues and succeeds
    /// rather than being refused.
    @Test func aHealthyBurstMayUseTheWholeCap() {
        let admission = UpstreamAdmission(cap: 4, stalledCap: 3)
        #expect((0..<4).allSatisfy { _ in admission.admit(nowMs: 1000) })
        #expect(!admission.admit(nowMs: 1000))
        #expect(admission.count == 4)
    }

    @Test func theDefaultsNeedNoThreadsToWait() {
        let admission = UpstreamAdmission(maxUpstream: nil)
        #expect(admission.cap == 1024)
        #expect(admission.stalledCap == 64)
    }

    /// A burst that starts after a quiet spell is not a stall, however old the last call is.
    @Test func aBurstAfterSilenceIsNotAStall() {
        let admission = UpstreamAdmission(cap: 4, stalledCap: 3)
        #expect(admission.admit(nowMs: 0))
        admission.finish(nowMs: 10)
        #expect((0..<4).allSatisfy { _ in admission.admit(nowMs: 600_000) })
    }

    /// Calls in flight and none finished for the stall time: the smaller cap applies.
    @Test func aStallTightensTheCap() {
        let admission = UpstreamAdmission(cap: 4, stalledCap: 3, stallAfterMs: 500)
        #expect((0..<3).allSatisfy { _ in admission.admit(nowMs: 1000) })
        #expect(admission.admit(nowMs: 1499))  // not yet a stall
        admission.finish(nowMs: 1499)
        #expect(!admission.admit(nowMs: 1999))  // 500 ms with nothing finished: the fourth waits
        #expect(admission.count == 3)
        admission.finish(nowMs: 2000)  // eSputnik answered again
        #expect(admission.admit(nowMs: 2001))
    }

    @Test func anOperatorsCapIsFixed() {
        let admission = UpstreamAdmission(maxUpstream: 2)
        #expect(admission.admit(nowMs: 0))
        #expect(admission.admit(nowMs: 0))
        #expect(!admission.admit(nowMs: 0))
        admission.finish(nowMs: 1)
        #expect(admission.admit(nowMs: 1))
    }
}
