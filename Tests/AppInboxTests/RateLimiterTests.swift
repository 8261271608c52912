import Testing

@testable import AppInbox

private func key(_ number: Int) -> IdentityKey { Fixture.key(number) }

/// Admits `count` requests for `key` at `nowMs`; returns how many went ahead.
private func burst(_ limiter: RateLimiter, _ key: IdentityKey, count: Int, at nowMs: Double) -> Int {
    (0..<count).filter { _ in limiter.admit(key, nowMs: nowMs) == nil }.count
}

@Suite("RateLimiter")
struct RateLimiterTests {
    @Test func theDefaultSixtyAreAllowedAtOnceAndTheNextIsRefused() {
        let limiter = RateLimiter(perMinute: 60)
        for index in 0..<60 {
            #expect(limiter.admit(key(1), nowMs: 0) == nil, "request \(index + 1) of 60")
        }
        #expect(limiter.admit(key(1), nowMs: 0) == 1)
    }

    @Test(arguments: [11, 13, 18, 19, 22, 60, 997, 1999], [0.0, 1_000_000.1, 1_001_954.6])
    func aFullBurstIsAllowedWhateverTheRoundingOfSixtyOverN(_ perMinute: Int, _ start: Double) {
        let limiter = RateLimiter(perMinute: perMinute)
        #expect(burst(limiter, key(1), count: perMinute, at: start) == perMinute)
        #expect(limiter.admit(key(1), nowMs: start) != nil)
    }

    @Test(arguments: [(1, 60), (2, 30), (3, 20), (4, 15), (7, 9), (10, 6), (30, 2), (60, 1), (100, 1), (1000, 1)])
    func theRetryAfterIsSixtyOverNRoundedUp(_ perMinute: Int, _ retryAfter: Int) {
        let limiter = RateLimiter(perMinute: perMinute)
        #expect(burst(limiter, key(1), count: perMinute, at: 0) == perMinute)
        #expect(limiter.admit(key(1), nowMs: 0) == retryAfter)
        #expect(limiter.admit(key(1), nowMs: 0) == retryAfter)
    }

    @Test func refusedRequestsDoNotUseUpAllowance() {
        let limiter = RateLimiter(perMinute: 10)  // one every 6 s
        #expect(burst(limiter, key(1), count: 10, at: 0) == 10)
        #expect(burst(limiter, key(1), count: 500, at: 0) == 0)
        #expect(limiter.admit(key(1), nowMs: 6_000) == nil)
    }

    @Test func theRetryAfterShrinksWithTimeAndTheAllowanceComesBack() {
        let limiter = RateLimiter(perMinute: 10)
        #expect(burst(limiter, key(1), count: 10, at: 0) == 10)
        #expect(limiter.admit(key(1), nowMs: 0) == 6)
        #expect(limiter.admit(key(1), nowMs: 1_000) == 5)
        #expect(limiter.admit(key(1), nowMs: 3_500) == 3)
        #expect(limiter.admit(key(1), nowMs: 5_999) == 1)
        #expect(limiter.admit(key(1), nowMs: 6_000) == nil)
        #expect(limiter.admit(key(1), nowMs: 6_000) == 6)
        #expect(limiter.admit(key(1), nowMs: 12_000) == nil)
    }

    @Test func aQuietMinuteRestoresTheWholeAllowance() {
        let limiter = RateLimiter(perMinute: 10)
        #expect(burst(limiter, key(1), count: 10, at: 0) == 10)
        #expect(burst(limiter, key(1), count: 11, at: 60_000) == 10)
        #expect(burst(limiter, key(1), count: 11, at: 600_000) == 10)
    }

    @Test func aPartlyQuietPeriodRestoresPartOfTheAllowance() {
        let limiter = RateLimiter(perMinute: 60)  // one a second
        #expect(burst(limiter, key(1), count: 60, at: 0) == 60)
        #expect(burst(limiter, key(1), count: 60, at: 10_000) == 10)
        #expect(burst(limiter, key(1), count: 60, at: 30_000) == 20)
    }

    @Test func aSteadyPaceAtTheLimitIsNeverRefused() {
        let limiter = RateLimiter(perMinute: 60)
        for second in 0..<600 {
            #expect(limiter.admit(key(1), nowMs: Double(second) * 1_000) == nil)
        }
        let slower = RateLimiter(perMinute: 60)
        for step in 0..<600 {
            #expect(slower.admit(key(2), nowMs: Double(step) * 1_500) == nil)
        }
    }

    @Test func aFloodGetsTheBurstThenOneRequestPerInterval() {
        let limiter = RateLimiter(perMinute: 60)
        var admittedAt: [Double] = []
        // Ten requests every 100 ms for five minutes.
        for tick in 0..<3_000 {
            let nowMs = Double(tick) * 100
            admittedAt += Array(repeating: nowMs, count: burst(limiter, key(1), count: 10, at: nowMs))
        }
        // The burst of 60 in the first six ticks, then one a second: 1 000, 2 000, … 299 000 ms.
        #expect(Array(admittedAt.prefix(60)) == (0..<60).map { Double($0 / 10) * 100 })
        let paced = Array(admittedAt.dropFirst(60))
        #expect(paced == (1..<300).map { Double($0) * 1_000 })
    }

    @Test func identitiesAreLimitedIndependently() {
        let limiter = RateLimiter(perMinute: 5)
        #expect(burst(limiter, key(1), count: 5, at: 0) == 5)
        #expect(limiter.admit(key(1), nowMs: 0) == 12)
        #expect(burst(limiter, key(2), count: 6, at: 0) == 5)
        #expect(burst(limiter, key(3), count: 1, at: 0) == 1)
        #expect(limiter.admit(key(1), nowMs: 0) == 12)
    }

    @Test func keysFromTheHasherAreLimitedPerIdentity() throws {
        let hasher = try IdentityHasher()
        let limiter = RateLimiter(perMinute: 2)
        let alice = try #require(hasher.key(for: ContactIdentity(email: "alice@example.com")))
        let bob = try #require(hasher.key(for: ContactIdentity(email: "bob@example.com")))
        #expect(burst(limiter, alice, count: 3, at: 0) == 2)
        #expect(limiter.admit(alice, nowMs: 0) != nil)
        #expect(burst(limiter, bob, count: 3, at: 0) == 2)
    }

    @Test func memoryStaysWithinTheBoundUnderManyIdentities() {
        let limiter = RateLimiter(perMinute: 60, maxEntries: 8)
        // All at the same instant: every entry is still active when the bound is passed.
        for number in 0..<1_000 {
            #expect(limiter.admit(key(number), nowMs: 0) == nil)
            #expect(limiter.size <= 8)
        }
        // With time moving on, so that some entries are restored and some are not.
        for number in 0..<5_000 {
            _ = limiter.admit(key(number % 700), nowMs: 1_000 + Double(number) * 7)
            #expect(limiter.size <= 8)
        }
    }

    @Test func theSizeCountsRememberedIdentities() {
        let limiter = RateLimiter(perMinute: 60, maxEntries: 100)
        #expect(limiter.size == 0)
        for number in 0..<10 { _ = limiter.admit(key(number), nowMs: 0) }
        #expect(limiter.size == 10)
        _ = limiter.admit(key(3), nowMs: 0)
        #expect(limiter.size == 10)
    }

    @Test func restoredEntriesAreForgottenBeforeActiveOnes() {
        let limiter = RateLimiter(perMinute: 60, maxEntries: 3)
        _ = limiter.admit(key(1), nowMs: 0)  // restored again at 1 000 ms
        _ = limiter.admit(key(2), nowMs: 0)
        #expect(burst(limiter, key(3), count: 60, at: 2_000) == 60)  // exhausted until 3 000 ms
        #expect(limiter.size == 3)
        #expect(limiter.admit(key(4), nowMs: 2_000) == nil)  // passes the bound: 1 and 2 are swept
        #expect(limiter.size == 2)
        #expect(limiter.admit(key(3), nowMs: 2_000) == 1)  // 3 is still limited
    }
}
