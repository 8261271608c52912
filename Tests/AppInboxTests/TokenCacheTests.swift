import Testing

@testable import AppInbox

private func key(_ number: Int) -> IdentityKey { Fixture.key(number) }

/// A day, for entries that must not expire during a test.
private let longTTL = 86_400

@Suite("TokenCache")
struct TokenCacheTests {
    @Test func aStoredTokenIsFoundUntilItsTTLRunsOut() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "tok-1", ttlSeconds: 30, nowMs: 1_000)
        #expect(cache.lookup(key(1), nowMs: 1_000) == "tok-1")
        #expect(cache.lookup(key(1), nowMs: 20_000) == "tok-1")
        #expect(cache.lookup(key(1), nowMs: 30_999.9) == "tok-1")
        #expect(cache.lookup(key(1), nowMs: 31_000) == nil)
        #expect(cache.lookup(key(1), nowMs: 31_001) == nil)
    }

    @Test func anExpiredEntryStaysGoneAndIsDropped() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "tok-1", ttlSeconds: 1, nowMs: 0)
        #expect(cache.stats.size == 1)
        #expect(cache.lookup(key(1), nowMs: 5_000) == nil)
        #expect(cache.stats.size == 0)
        // Looking again "earlier" (clock skew between threads) must not resurrect it.
        #expect(cache.lookup(key(1), nowMs: 500) == nil)
        #expect(cache.stats.evictions == 0)
    }

    @Test func aZeroTTLRemovesTheEntrySoAFreshEmptyAnswerReplacesAnOldToken() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "old-token", ttlSeconds: 300, nowMs: 0)
        cache.store(key(1), token: "", ttlSeconds: 0, nowMs: 1000)
        #expect(cache.lookup(key(1), nowMs: 2000) == nil)
        #expect(cache.stats.size == 0)
    }

    @Test func aMissForAnUnknownKey() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "tok-1", ttlSeconds: 30, nowMs: 0)
        #expect(cache.lookup(key(2), nowMs: 0) == nil)
    }

    @Test func anEmptyTokenIsCachedLikeAnyOther() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "", ttlSeconds: 10, nowMs: 0)
        #expect(cache.lookup(key(1), nowMs: 9_000) == "")
        #expect(cache.lookup(key(1), nowMs: 10_000) == nil)
    }

    @Test func storingAgainReplacesTheTokenAndTheExpiry() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "old", ttlSeconds: 10, nowMs: 0)
        cache.store(key(1), token: "new", ttlSeconds: 10, nowMs: 5_000)
        #expect(cache.lookup(key(1), nowMs: 5_000) == "new")
        #expect(cache.lookup(key(1), nowMs: 14_999) == "new")
        #expect(cache.lookup(key(1), nowMs: 15_000) == nil)
        #expect(cache.stats.evictions == 0)
    }

    @Test func aShorterTTLOnReplaceShortensTheEntry() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "tok", ttlSeconds: 300, nowMs: 0)
        cache.store(key(1), token: "", ttlSeconds: 10, nowMs: 1_000)
        #expect(cache.lookup(key(1), nowMs: 2_000) == "")
        #expect(cache.lookup(key(1), nowMs: 11_000) == nil)
    }

    @Test func aZeroTTLStoresNothing() {
        let cache = TokenCache(capacity: 10)
        cache.store(key(1), token: "tok", ttlSeconds: 0, nowMs: 0)
        #expect(cache.lookup(key(1), nowMs: 0) == nil)
        #expect(cache.stats.size == 0)
        cache.store(key(2), token: "tok", ttlSeconds: -5, nowMs: 0)
        #expect(cache.lookup(key(2), nowMs: 0) == nil)
        #expect(cache.stats.size == 0)
    }

    @Test func theOldestEntryIsEvictedAtCapacity() {
        let cache = TokenCache(capacity: 3)
        for number in 1...3 { cache.store(key(number), token: "t\(number)", ttlSeconds: longTTL, nowMs: Double(number)) }
        #expect(cache.stats.size == 3)
        #expect(cache.stats.evictions == 0)

        cache.store(key(4), token: "t4", ttlSeconds: longTTL, nowMs: 4)
        #expect(cache.stats.size == 3)
        #expect(cache.stats.evictions == 1)
        #expect(cache.lookup(key(1), nowMs: 5) == nil)
        #expect(cache.lookup(key(2), nowMs: 5) == "t2")
        #expect(cache.lookup(key(3), nowMs: 5) == "t3")
        #expect(cache.lookup(key(4), nowMs: 5) == "t4")

        cache.store(key(5), token: "t5", ttlSeconds: longTTL, nowMs: 6)
        #expect(cache.stats.evictions == 2)
        #expect(cache.lookup(key(2), nowMs: 7) == nil)
        #expect(cache.lookup(key(3), nowMs: 7) == "t3")
        #expect(cache.lookup(key(5), nowMs: 7) == "t5")
    }

    @Test func reStoringAKeyMakesItTheNewest() {
        let cache = TokenCache(capacity: 3)
        for number in 1...3 { cache.store(key(number), token: "t\(number)", ttlSeconds: longTTL, nowMs: 0) }
        cache.store(key(1), token: "t1b", ttlSeconds: longTTL, nowMs: 1)
        cache.store(key(4), token: "t4", ttlSeconds: longTTL, nowMs: 2)
        #expect(cache.lookup(key(1), nowMs: 3) == "t1b")
        #expect(cache.lookup(key(2), nowMs: 3) == nil)
        #expect(cache.lookup(key(3), nowMs: 3) == "t3")
        #expect(cache.lookup(key(4), nowMs: 3) == "t4")
        #expect(cache.stats.evictions == 1)
    }

    @Test func reStoringIsNotAnEvictionAndNeverGrowsTheTable() {
        let cache = TokenCache(capacity: 3)
        for round in 0..<200 {
            for number in 1...3 {
                cache.store(key(number), token: "t\(number)-\(round)", ttlSeconds: longTTL, nowMs: Double(round))
                #expect(cache.stats.size <= 3)
            }
        }
        #expect(cache.stats.size == 3)
        #expect(cache.stats.evictions == 0)
        for number in 1...3 { #expect(cache.lookup(key(number), nowMs: 200) == "t\(number)-199") }

        // Many stale queue entries must not make the next eviction skip the bound.
        cache.store(key(4), token: "t4", ttlSeconds: longTTL, nowMs: 201)
        #expect(cache.stats.size == 3)
        #expect(cache.stats.evictions == 1)
        #expect(cache.lookup(key(1), nowMs: 202) == nil)
        #expect(cache.lookup(key(4), nowMs: 202) == "t4")
    }

    @Test func entriesDroppedOnExpiryMakeRoomWithoutEvictions() {
        let cache = TokenCache(capacity: 2)
        cache.store(key(1), token: "t1", ttlSeconds: 1, nowMs: 0)
        cache.store(key(2), token: "t2", ttlSeconds: longTTL, nowMs: 0)
        #expect(cache.lookup(key(1), nowMs: 2_000) == nil)
        cache.store(key(3), token: "t3", ttlSeconds: longTTL, nowMs: 2_000)
        #expect(cache.stats.size == 2)
        #expect(cache.stats.evictions == 0)
        #expect(cache.lookup(key(2), nowMs: 2_000) == "t2")
        #expect(cache.lookup(key(3), nowMs: 2_000) == "t3")
    }

    @Test func aCapacityOfOneKeepsTheLatest() {
        let cache = TokenCache(capacity: 1)
        for number in 1...5 { cache.store(key(number), token: "t\(number)", ttlSeconds: longTTL, nowMs: 0) }
        #expect(cache.stats.size == 1)
        #expect(cache.stats.evictions == 4)
        #expect(cache.lookup(key(5), nowMs: 0) == "t5")
    }

    /// Checks the cache against a plain model (entries ordered by their last store) through a long
    /// pseudo-random mix of new keys and re-stores, past the point where the queue is compacted.
    @Test(arguments: [1, 7, 50])
    func manyStoresMatchAModelAndStayWithinCapacity(_ capacity: Int) {
        let cache = TokenCache(capacity: capacity)
        var order: [Int] = []  // oldest first
        var tokens: [Int: String] = [:]
        var evictions = 0
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for step in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let number = Int((state >> 33) % UInt64(capacity * 3))
            let token = "t\(step)"
            cache.store(key(number), token: token, ttlSeconds: longTTL, nowMs: Double(step))
            order.removeAll { $0 == number }
            order.append(number)
            tokens[number] = token
            if order.count > capacity {
                tokens[order.removeFirst()] = nil
                evictions += 1
            }
            #expect(cache.stats.size <= capacity)
            if step % 997 == 0 || step == 19_999 {
                #expect(cache.stats.size == order.count)
                #expect(cache.stats.evictions == evictions)
            }
        }
        for number in 0..<capacity * 3 {
            #expect(cache.lookup(key(number), nowMs: 20_000) == tokens[number], "key \(number)")
        }
    }

    @Test func manyDistinctKeysStayWithinCapacity() {
        let cache = TokenCache(capacity: 100)
        for number in 0..<10_000 {
            cache.store(key(number), token: "t", ttlSeconds: longTTL, nowMs: 0)
        }
        #expect(cache.stats.size == 100)
        #expect(cache.stats.evictions == 9_900)
        #expect(cache.lookup(key(9_899), nowMs: 0) == nil)
        #expect(cache.lookup(key(9_900), nowMs: 0) == "t")
        #expect(cache.lookup(key(9_999), nowMs: 0) == "t")
    }
}
