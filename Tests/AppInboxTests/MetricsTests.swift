import Testing

@testable import AppInbox

@Suite("Metrics")
struct MetricsTests {
    // MARK: Recording

    @Test func requestsAreCountedByRouteAndStatus() {
        let metrics = Metrics()
        metrics.recordRequest(route: "token", status: 200, coalesced: false)
        metrics.recordRequest(route: "token", status: 200, coalesced: true)
        metrics.recordRequest(route: "token", status: 401, coalesced: false)
        metrics.recordRequest(route: "healthz", status: 200, coalesced: false)
        let counters = metrics.snapshot
        #expect(counters.requests == ["token": [200: 2, 401: 1], "healthz": [200: 1]])
        #expect(counters.coalesced == 1)
    }

    @Test func upstreamCallsFillTheRightLatencyBucket() {
        let metrics = Metrics()
        // On a bound counts in that bucket; just past it, in the next.
        metrics.recordUpstream(outcome: "token", durationMs: 0)
        metrics.recordUpstream(outcome: "token", durationMs: 5)
        metrics.recordUpstream(outcome: "token", durationMs: 5.001)
        metrics.recordUpstream(outcome: "token", durationMs: 10_000)
        metrics.recordUpstream(outcome: "upstream_timeout", durationMs: 10_000.5)
        let counters = metrics.snapshot
        #expect(counters.upstreamCalls == ["token": 4, "upstream_timeout": 1])
        #expect(counters.latencyCount == 5)
        #expect(abs(counters.latencySumMs - 20_010.501) < 1e-9)
        var expected = [Int](repeating: 0, count: Metrics.latencyBucketsMs.count)
        expected[0] = 2
        expected[1] = 1
        expected[expected.count - 1] = 1
        #expect(counters.latencyBuckets == expected)
        #expect(counters.latencyBuckets.reduce(0, +) == 4)  // the fifth is beyond the last bound: +Inf only
    }

    @Test func latencyBoundsIncrease() {
        let bounds = Metrics.latencyBucketsMs
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
        #expect(bounds.first ?? 0 > 0)
    }

    @Test func countersAreCountedOneByOne() {
        let metrics = Metrics()
        for _ in 0..<3 { metrics.count(\.cacheHits) }
        metrics.count(\.cacheMisses)
        metrics.count(\.rateLimited)
        metrics.count(\.breakerRejected)
        metrics.count(\.upstreamCapRejected)
        let counters = metrics.snapshot
        #expect(counters.cacheHits == 3)
        #expect(counters.cacheMisses == 1)
        #expect(counters.rateLimited == 1)
        #expect(counters.breakerRejected == 1)
        #expect(counters.upstreamCapRejected == 1)
        #expect(counters.coalesced == 0)
    }
}

@Suite("Metrics shards")
struct MetricsShardTests {
    @Test func aSnapshotSumsEveryWorkersShard() {
        let metrics = Metrics()
        let first = metrics.makeShard()
        let second = metrics.makeShard()
        first.recordRequest(route: "token", status: 200, coalesced: true)
        second.recordRequest(route: "token", status: 200, coalesced: false)
        second.recordRequest(route: "token", status: 429, coalesced: false)
        first.recordUpstream(outcome: "token", durationMs: 7)
        second.recordUpstream(outcome: "token", durationMs: 30)
        second.count(\.cacheHits)
        metrics.count(\.cacheHits)
        let total = metrics.snapshot
        #expect(total.requests["token"] == [200: 2, 429: 1])
        #expect(total.coalesced == 1)
        #expect(total.upstreamCalls == ["token": 2])
        #expect(total.latencyCount == 2 && total.latencySumMs == 37)
        #expect(total.latencyBuckets[1] == 1 && total.latencyBuckets[3] == 1)  // ≤10 ms and ≤50 ms
        #expect(total.cacheHits == 2)
    }
}
