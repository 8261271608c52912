import Testing

@testable import AppInbox

@Suite("UpstreamAdmission")
struct UpstreamAdmissionTests {
    /// While eSputnik answers, every worker may wait on it: a burst beyond the reserve queues
    /// and succeeds rather than being refused.
    @Test func aHealthyBurstMayUseEveryWorker() {
        let admission = UpstreamAdmission(threads: 4, maxUpstream: nil)
        #expect((0..<4).allSatisfy { _ in admission.admit(nowMs: 1000) })
        #expect(!admission.admit(nowMs: 1000))  // more calls than workers cannot happen; refused anyway
        #expect(admission.count == 4)
    }

    /// A burst that starts after a quiet spell is not a stall, however old the last call is.
    @Test func aBurstAfterSilenceIsNotAStall() {
        let admission = UpstreamAdmission(threads: 4, maxUpstream: nil)
        #expect(admission.admit(nowMs: 0))
        admission.finish(nowMs: 10)
        #expect((0..<4).allSatisfy { _ in admission.admit(nowMs: 600_000) })
    }

    /// Calls in flight and none finished for the stall time: a quarter of the workers is kept.
    @Test func aStallKeepsAQuarterOfTheWorkers() {
        let admission = UpstreamAdmission(threads: 4, maxUpstream: nil, stallAfterMs: 500)
        #expect((0..<3).allSatisfy { _ in admission.admit(nowMs: 1000) })
        #expect(admission.admit(nowMs: 1499))  // not yet a stall
        admission.finish(nowMs: 1499)
        #expect(!admission.admit(nowMs: 1999))  // 500 ms with nothing finished: the fourth waits
        #expect(admission.count == 3)
        admission.finish(nowMs: 2000)  // eSputnik answered again
        #expect(admission.admit(nowMs: 2001))
    }

    @Test func anOperatorsCapIsFixed() {
        let admission = UpstreamAdmission(threads: 32, maxUpstream: 2)
        #expect(admission.admit(nowMs: 0))
        #expect(admission.admit(nowMs: 0))
        #expect(!admission.admit(nowMs: 0))
        admission.finish(nowMs: 1)
        #expect(admission.admit(nowMs: 1))
    }

    @Test func aSingleWorkerKeepsItsOneCall() {
        let admission = UpstreamAdmission(threads: 1, maxUpstream: nil)
        #expect(admission.admit(nowMs: 0))
        #expect(admission.stalledCap == 1)
    }
}
