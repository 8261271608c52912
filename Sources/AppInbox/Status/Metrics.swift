import Synchronization

/// The counters behind the `status` route. Each worker counts into its own `Shard`, whose lock
/// only a status read ever contends for (one shared lock per request put 18% of the CPU into
/// the kernel under load); the gauges that change twice per request are atomics.
public final class Metrics: Sendable {
    /// Upper bounds of the upstream latency histogram, in milliseconds.
    public static let latencyBucketsMs: [Double] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    struct Counters {
        var requests: [String: [Int: Int]] = [:]
        var upstreamCalls: [String: Int] = [:]
        var latencyBuckets = [Int](repeating: 0, count: Metrics.latencyBucketsMs.count)
        var latencyCount = 0
        var latencySumMs = 0.0
        var coalesced = 0
        var cacheHits = 0
        var cacheMisses = 0
        var rateLimited = 0
        var breakerRejected = 0
        var upstreamCapRejected = 0
        /// Calls refused by the fleet's budget of calls to eSputnik (or this responder's share).
        var budgetRejected = 0
        /// Signed identity tokens: verified in full, found among those already verified, refused.
        var tokensVerified = 0
        var tokensRemembered = 0
        var tokensRefused = 0

        mutating func add(_ other: Counters) {
            for (route, statuses) in other.requests {
                requests[route, default: [:]].merge(statuses, uniquingKeysWith: +)
            }
            upstreamCalls.merge(other.upstreamCalls, uniquingKeysWith: +)
            for index in latencyBuckets.indices { latencyBuckets[index] += other.latencyBuckets[index] }
            latencyCount += other.latencyCount
            latencySumMs += other.latencySumMs
            coalesced += other.coalesced
            cacheHits += other.cacheHits
            cacheMisses += other.cacheMisses
            rateLimited += other.rateLimited
            breakerRejected += other.breakerRejected
            upstreamCapRejected += other.upstreamCapRejected
            budgetRejected += other.budgetRejected
            tokensVerified += other.tokensVerified
            tokensRemembered += other.tokensRemembered
            tokensRefused += other.tokensRefused
        }
    }

    /// One worker's counters.
    public final class Shard: Sendable {
        let counters = Locked(Counters())

        func recordRequest(route: String, status: Int, coalesced: Bool) {
            counters.withLock {
                $0.requests[route, default: [:]][status, default: 0] += 1
                if coalesced { $0.coalesced += 1 }
            }
        }

        func recordUpstream(outcome: String, durationMs: Double) {
            counters.withLock {
                $0.upstreamCalls[outcome, default: 0] += 1
                $0.latencyCount += 1
                $0.latencySumMs += durationMs
                if let bucket = Metrics.latencyBucketsMs.firstIndex(where: { durationMs <= $0 }) {
                    $0.latencyBuckets[bucket] += 1
                }
            }
        }

        func count(_ counter: WritableKeyPath<Counters, Int>) {
            counters.withLock { $0[keyPath: counter] += 1 }
        }
    }

    private let shards = Locked<[Shard]>([])
    /// For callers that are not workers (tests, tools).
    private let common: Shard
    /// Workers handling a request right now.
    public let busyWorkers = Atomic<Int>(0)
    /// The longest listen queue the transport has seen; -1 until it reports one (unix sockets never do).
    public let listenQueueMax = Atomic<Int>(-1)
    let startedMs = MonotonicClock.nowMs()

    /// The longest listen queue seen, or nil while none was reported.
    var listenQueueMaxIfKnown: Int? {
        let length = listenQueueMax.load(ordering: .relaxed)
        return length >= 0 ? length : nil
    }

    /// Keeps the longest listen queue reported.
    public func recordListenQueue(_ length: Int) {
        var seen = listenQueueMax.load(ordering: .relaxed)
        while length > seen {
            let (exchanged, original) = listenQueueMax.compareExchange(
                expected: seen, desired: length, ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }

    /// Creates zeroed counters.
    public init() {
        common = Shard()
        shards.withLock { $0.append(common) }
    }

    /// A shard for one more worker, counted in every snapshot.
    public func makeShard() -> Shard {
        let shard = Shard()
        shards.withLock { $0.append(shard) }
        return shard
    }

    func recordRequest(route: String, status: Int, coalesced: Bool) {
        common.recordRequest(route: route, status: status, coalesced: coalesced)
    }

    func recordUpstream(outcome: String, durationMs: Double) {
        common.recordUpstream(outcome: outcome, durationMs: durationMs)
    }

    func count(_ counter: WritableKeyPath<Counters, Int>) {
        common.count(counter)
    }

    /// The counters as they are now, summed over every worker.
    var snapshot: Counters {
        shards.withLock { shards in
            shards.reduce(into: Counters()) { total, shard in total.add(shard.counters.withLock { $0 }) }
        }
    }

    /// Seconds since the process started serving.
    var uptimeSeconds: Double { (MonotonicClock.nowMs() - startedMs) / 1000 }
}
