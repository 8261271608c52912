/// One worker's way to a token: cache → `TokenPipeline`. It owns the worker's exchange (its own
/// transport, rebuilt after a reload) and counters; the pieces all workers share are in
/// `UpstreamGuards`.
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
        // The local way: the worker comes here only without fleet mode or with Redis unavailable.
        pipeline().coalesced(identity, key: key, viaFleet: false, done: done)
    }

    /// The rest of the way for a request past the limits and the cache, with this worker's
    /// current exchange: a value, so that it may go on on the exchange loop's thread (fleet mode
    /// decides there).
    mutating func pipeline() -> TokenPipeline {
        refreshExchange()
        return TokenPipeline(guards: guards, counters: counters, exchange: exchange)
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
