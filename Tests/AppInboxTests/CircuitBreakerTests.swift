import Testing

@testable import AppInbox

/// A breaker driven to `open` at `nowMs` by `threshold` consecutive failures.
private func openedBreaker(threshold: Int = 3, cooldownSeconds: Int = 10, at nowMs: Double = 1_000) -> CircuitBreaker {
    var breaker = CircuitBreaker(threshold: threshold, cooldownSeconds: cooldownSeconds)
    for _ in 0..<threshold {
        #expect(breaker.decide(nowMs: nowMs) == .proceed)
        breaker.record(failed: true, nowMs: nowMs)
    }
    return breaker
}

@Suite("CircuitBreaker")
struct CircuitBreakerTests {
    @Test func startsClosedAndLetsCallsThrough() {
        var breaker = CircuitBreaker(threshold: 5, cooldownSeconds: 10)
        #expect(breaker.state == .closed(failures: 0))
        #expect(breaker.phase.rawValue == "closed")
        #expect(breaker.openCount == 0)
        for step in 0..<100 {
            #expect(breaker.decide(nowMs: Double(step)) == .proceed)
        }
    }

    @Test(arguments: [1, 2, 5, 10])
    func opensAfterExactlyThresholdConsecutiveFailures(_ threshold: Int) {
        var breaker = CircuitBreaker(threshold: threshold, cooldownSeconds: 10)
        for failure in 1..<threshold {
            #expect(breaker.decide(nowMs: 0) == .proceed)
            breaker.record(failed: true, nowMs: 0)
            #expect(breaker.state == .closed(failures: failure))
            #expect(breaker.phase.rawValue == "closed")
        }
        #expect(breaker.decide(nowMs: 0) == .proceed)
        breaker.record(failed: true, nowMs: 0)
        #expect(breaker.phase.rawValue == "open")
        #expect(breaker.openCount == 1)
        #expect(breaker.state == .open(untilMs: 10_000))
        #expect(breaker.decide(nowMs: 1) == .reject(retryAfterSeconds: 10))
    }

    @Test func aSuccessResetsTheFailureCount() {
        var breaker = CircuitBreaker(threshold: 3, cooldownSeconds: 10)
        breaker.record(failed: true, nowMs: 0)
        breaker.record(failed: true, nowMs: 0)
        breaker.record(failed: false, nowMs: 0)
        #expect(breaker.state == .closed(failures: 0))
        // Two more failures are not enough after the reset…
        breaker.record(failed: true, nowMs: 0)
        breaker.record(failed: true, nowMs: 0)
        #expect(breaker.phase.rawValue == "closed")
        #expect(breaker.decide(nowMs: 0) == .proceed)
        // …the third consecutive one is.
        breaker.record(failed: true, nowMs: 0)
        #expect(breaker.phase.rawValue == "open")
    }

    @Test func interleavedSuccessesNeverOpenIt() {
        var breaker = CircuitBreaker(threshold: 2, cooldownSeconds: 10)
        for step in 0..<50 {
            breaker.record(failed: step % 2 == 0, nowMs: Double(step))
            #expect(breaker.phase.rawValue == "closed")
        }
        #expect(breaker.openCount == 0)
    }

    @Test func rejectsWhileOpenWithARetryAfterThatShrinks() {
        var breaker = openedBreaker(cooldownSeconds: 10, at: 1_000)  // open until 11 000 ms
        #expect(breaker.decide(nowMs: 1_000) == .reject(retryAfterSeconds: 10))
        #expect(breaker.decide(nowMs: 1_001) == .reject(retryAfterSeconds: 10))
        #expect(breaker.decide(nowMs: 2_000) == .reject(retryAfterSeconds: 9))
        #expect(breaker.decide(nowMs: 2_001) == .reject(retryAfterSeconds: 9))
        #expect(breaker.decide(nowMs: 6_500) == .reject(retryAfterSeconds: 5))
        #expect(breaker.decide(nowMs: 10_000) == .reject(retryAfterSeconds: 1))
        #expect(breaker.decide(nowMs: 10_999.9) == .reject(retryAfterSeconds: 1))
        #expect(breaker.phase.rawValue == "open")
    }

    @Test func retryAfterNeverIncreasesAndIsAtLeastOne() {
        var breaker = openedBreaker(cooldownSeconds: 30, at: 0)
        var previous = Int.max
        for nowMs in stride(from: 0.0, to: 30_000, by: 137) {
            guard case .reject(let retryAfter) = breaker.decide(nowMs: nowMs) else {
                Issue.record("expected a rejection at \(nowMs) ms")
                return
            }
            #expect(retryAfter >= 1)
            #expect(retryAfter <= 30)
            #expect(retryAfter <= previous)
            previous = retryAfter
        }
    }

    @Test func exactlyOneProbeAfterTheCooldown() {
        var breaker = openedBreaker(cooldownSeconds: 10, at: 1_000)
        #expect(breaker.decide(nowMs: 11_000) == .probe)
        #expect(breaker.phase.rawValue == "half_open")
        #expect(breaker.state == .probing)
        // Everyone else waits for the probe's verdict.
        for nowMs in [11_000.0, 11_001, 12_000, 60_000] {
            guard case .reject(let retryAfter) = breaker.decide(nowMs: nowMs) else {
                Issue.record("a second call went through while probing at \(nowMs) ms")
                return
            }
            #expect(retryAfter >= 1)
        }
        #expect(breaker.phase.rawValue == "half_open")
    }

    @Test func aLateFirstCallAfterTheCooldownIsTheProbe() {
        var breaker = openedBreaker(cooldownSeconds: 10, at: 0)
        #expect(breaker.decide(nowMs: 500_000) == .probe)
        #expect(breaker.decide(nowMs: 500_000) != .probe)
    }

    @Test func probeSuccessClosesTheBreaker() {
        var breaker = openedBreaker(threshold: 3, cooldownSeconds: 10, at: 0)
        #expect(breaker.decide(nowMs: 10_000) == .probe)
        breaker.record(failed: false, nowMs: 10_200)
        #expect(breaker.state == .closed(failures: 0))
        #expect(breaker.phase.rawValue == "closed")
        #expect(breaker.decide(nowMs: 10_201) == .proceed)
        #expect(breaker.decide(nowMs: 10_202) == .proceed)
        #expect(breaker.openCount == 1)
        // It needs the full threshold of failures again to reopen.
        breaker.record(failed: true, nowMs: 10_300)
        breaker.record(failed: true, nowMs: 10_300)
        #expect(breaker.phase.rawValue == "closed")
    }

    @Test func probeFailureReopensWithAFreshCooldown() {
        var breaker = openedBreaker(threshold: 3, cooldownSeconds: 10, at: 0)
        #expect(breaker.decide(nowMs: 10_000) == .probe)
        breaker.record(failed: true, nowMs: 12_000)
        #expect(breaker.phase.rawValue == "open")
        #expect(breaker.state == .open(untilMs: 22_000))
        #expect(breaker.openCount == 2)
        #expect(breaker.decide(nowMs: 12_000) == .reject(retryAfterSeconds: 10))
        #expect(breaker.decide(nowMs: 21_999) == .reject(retryAfterSeconds: 1))
        #expect(breaker.decide(nowMs: 22_000) == .probe)
    }

    @Test func openedCountsEveryOpening() {
        var breaker = CircuitBreaker(threshold: 2, cooldownSeconds: 1)
        var nowMs = 0.0
        for round in 1...4 {
            breaker.record(failed: true, nowMs: nowMs)
            breaker.record(failed: true, nowMs: nowMs)
            #expect(breaker.openCount == round)
            nowMs += 1_000
            #expect(breaker.decide(nowMs: nowMs) == .probe)
            breaker.record(failed: false, nowMs: nowMs)
            #expect(breaker.openCount == round)
        }
    }

    @Test func aFailureReportedWhileOpenDoesNotExtendIt() {
        var breaker = openedBreaker(cooldownSeconds: 10, at: 0)  // open until 10 000 ms
        // Calls that started before the breaker opened finish later and fail.
        breaker.record(failed: true, nowMs: 5_000)
        breaker.record(failed: true, nowMs: 9_999)
        #expect(breaker.state == .open(untilMs: 10_000))
        #expect(breaker.openCount == 1)
        #expect(breaker.decide(nowMs: 9_000) == .reject(retryAfterSeconds: 1))
        #expect(breaker.decide(nowMs: 10_000) == .probe)
    }

    @Test func namePerState() {
        var breaker = CircuitBreaker(threshold: 1, cooldownSeconds: 1)
        #expect(breaker.phase.rawValue == "closed")
        breaker.record(failed: true, nowMs: 0)
        #expect(breaker.phase.rawValue == "open")
        _ = breaker.decide(nowMs: 1_000)
        #expect(breaker.phase.rawValue == "half_open")
        breaker.record(failed: false, nowMs: 1_000)
        #expect(breaker.phase.rawValue == "closed")
    }
}
