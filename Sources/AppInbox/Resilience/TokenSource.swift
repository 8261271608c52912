/// One worker's way to a token: cache → single flight → upstream cap → circuit breaker →
/// eSputnik → cache. It owns the worker's exchange (its own transport, rebuilt after a reload)
/// and counters; the pieces all workers share are in `UpstreamGuards`.
struct TokenSource {
    let guards: UpstreamGuards
    let counters: Metrics.Shard
    /// Replaced after a reload.
    private(set) var exchange: TokenExchange
    private var generation: Int

    /// A token, or why there is none, and whether another request's call produced it.
    struct Answer: Sendable {
        var outcome: ExchangeOutcome
        var coalesced = false
    }

    init(guards: UpstreamGuards, counters: Metrics.Shard) throws(SetupError) {
        self.guards = guards
        self.counters = counters
        (exchange, generation) = try guards.makeExchange()
    }

    /// The token for `identity`, passed to `done` once: at once for a cache hit, else when
    /// eSputnik (or the running call for the same identity) answers. `key` files it in the cache
    /// (nil: skip the cache); `fresh` replaces a cached token the eSputnik script found invalid.
    mutating func token(
        for identity: ContactIdentity, key: IdentityKey?, fresh: Bool, nowMs: Double,
        done: @escaping @Sendable (Answer) -> Void
    ) {
        if let cache = guards.cache, let key {
            if !fresh, let token = cache.lookup(key, nowMs: nowMs) {
                counters.count(\.cacheHits)
                return done(Answer(outcome: ExchangeOutcome(result: .success(token))))
            }
            counters.count(\.cacheMisses)
        }
        refreshExchange()
        guard guards.flights.join(identity, follower: { done(Answer(outcome: $0, coalesced: true)) }) else { return }
        let flights = guards.flights
        call(identity, key: key) { outcome in
            // The leader answers first, then everyone who joined its flight meanwhile.
            done(Answer(outcome: outcome))
            flights.finish(identity, with: outcome)
        }
    }

    /// One upstream call as a single-flight leader makes it: through the cap and the breaker,
    /// timed and counted, its token cached when the cache is on.
    private func call(_ identity: ContactIdentity, key: IdentityKey?, done: @escaping @Sendable (ExchangeOutcome) -> Void) {
        // The cap first: a probe refused at capacity must not leave the breaker half-open forever.
        let guards = guards
        let counters = counters
        let started = guards.clock.now()
        guard guards.admission.admit(nowMs: started) else {
            counters.count(\.upstreamCapRejected)
            return done(.heldBack(retryAfter: 1))
        }
        if case .reject(let retryAfter) = guards.breaker.withLock({ $0.decide(nowMs: started) }) {
            guards.admission.finish(nowMs: started)
            counters.count(\.breakerRejected)
            return done(.heldBack(retryAfter: retryAfter))
        }
        exchange.exchange(identity) { outcome in
            let finished = guards.clock.now()
            guards.admission.finish(nowMs: finished)
            Self.record(outcome, of: identity, key: key, startedMs: started, finishedMs: finished, guards: guards, counters: counters)
            done(outcome)
        }
    }

    /// What an upstream call's outcome changes: the breaker, the counters, the refused-key
    /// report, the cache.
    private static func record(
        _ outcome: ExchangeOutcome, of identity: ContactIdentity, key: IdentityKey?, startedMs: Double, finishedMs: Double,
        guards: UpstreamGuards, counters: Metrics.Shard
    ) {
        switch guards.breaker.withLock({ $0.record(failed: outcome.opensBreaker, nowMs: finishedMs) }) {
        case .opened:
            guards.log.error(
                "breaker_opened",
                ["cooldown_s": String(guards.settings.breakerCooldownSeconds), "reason": outcome.metricLabel])
        case .closed:
            guards.log.info("breaker_closed", [:])
        case nil:
            break
        }
        counters.recordUpstream(outcome: outcome.metricLabel, durationMs: finishedMs - startedMs)
        switch outcome.result {
        case .failure(.refusedKey):
            guards.reportAuthFailure(status: outcome.upstreamStatus, nowMs: finishedMs)
        case .success(let token):
            if let cache = guards.cache, let key {
                let ttl = token.isEmpty ? guards.settings.negativeTTLSeconds : guards.settings.cacheTTLSeconds
                cache.store(key, token: token, ttlSeconds: ttl, nowMs: finishedMs)
            }
        case .failure:
            break
        }
    }

    /// Picks up upstream settings changed by a reload (SIGHUP) before the next exchange. Requests
    /// already under way finish on the old transport; only this worker's next call uses the new one.
    private mutating func refreshExchange() {
        guard guards.currentNumber != generation else { return }
        do {
            (exchange, generation) = try guards.makeExchange()
        } catch {
            guards.log.error("reload_worker_failed", ["error": String(describing: error)])
        }
    }
}
