/// A request's way to a token once it has passed the rate limit and the cache: single flight →
/// (fleet mode: the fleet's lead and budget) → upstream cap → circuit breaker → eSputnik →
/// cache. Every step hands on to the next by continuation; none blocks.
struct TokenPipeline: Sendable {
    let guards: UpstreamGuards
    let counters: Metrics.Shard
    let exchange: TokenExchange

    typealias Answer = TokenSource.Answer

    /// Joins the running call for `identity` on this responder, or leads a new one. `viaFleet`:
    /// the leader coordinates with the fleet through Redis (false when this request already
    /// found Redis unavailable).
    func coalesced(
        _ identity: ContactIdentity, key: IdentityKey?, viaFleet: Bool, done: @escaping @Sendable (Answer) -> Void
    ) {
        guard guards.flights.join(identity, follower: { done(Answer(outcome: $0.outcome, coalesced: true)) }) else { return }
        let flights = guards.flights
        lead(identity, key: key, viaFleet: viaFleet) { answer in
            flights.finish(identity, with: answer, leader: done)
        }
    }

    /// In fleet mode, the fleet decides who calls: this request (under a lease), or the host
    /// already calling for the identity, whose outcome it then takes; the fleet's budget applies.
    /// Without Redis, this responder's share of the budget does.
    private func lead(
        _ identity: ContactIdentity, key: IdentityKey?, viaFleet: Bool, done: @escaping @Sendable (Answer) -> Void
    ) {
        guard let fleet = guards.fleet, let key else {
            return call(identity, key: key, lease: nil) { done(Answer(outcome: $0)) }
        }
        guard viaFleet else { return callWithinLocalBudget(identity, key: key, fleet: fleet, done: done) }
        fleet.lead(key, deadlineMs: MonotonicClock.nowMs() + Double(exchange.timeoutMs)) { lead in
            switch lead {
            case .lead(let lease):
                call(identity, key: key, lease: lease) { done(Answer(outcome: $0)) }
            case .outcome(let outcome):
                done(Answer(outcome: outcome, coalesced: true))
            case .overBudget(let retryAfter):
                counters.count(\.budgetRejected)
                done(Answer(outcome: .heldBack(retryAfter: retryAfter)))
            case .unavailable(let reason):
                fleet.redis.noteFallback(reason)
                callWithinLocalBudget(identity, key: key, fleet: fleet, done: done)
            }
        }
    }

    private func callWithinLocalBudget(
        _ identity: ContactIdentity, key: IdentityKey, fleet: Fleet, done: @escaping @Sendable (Answer) -> Void
    ) {
        if let retryAfter = fleet.localBudget.admit(nowMs: guards.clock.now()) {
            counters.count(\.budgetRejected)
            return done(Answer(outcome: .heldBack(retryAfter: retryAfter)))
        }
        call(identity, key: key, lease: nil) { done(Answer(outcome: $0)) }
    }

    /// One upstream call: through the cap and the breaker, timed and counted, its outcome cached
    /// when the cache is on, and handed to the fleet when it holds the fleet's `lease`.
    private func call(
        _ identity: ContactIdentity, key: IdentityKey?, lease: String?, done: @escaping @Sendable (ExchangeOutcome) -> Void
    ) {
        // The cap first: a probe refused at capacity must not leave the breaker half-open forever.
        let guards = guards
        let counters = counters
        let started = guards.clock.now()
        let finish = { @Sendable (outcome: ExchangeOutcome) in
            guard let lease, let key, let fleet = guards.fleet else { return done(outcome) }
            fleet.finish(key, lease: lease, outcome: outcome, cacheSeconds: guards.fleetCacheSeconds(for: outcome)) {
                done(outcome)
            }
        }
        guard guards.admission.admit(nowMs: started) else {
            counters.count(\.upstreamCapRejected)
            return finish(.heldBack(retryAfter: 1))
        }
        if case .reject(let retryAfter) = guards.breaker.withLock({ $0.decide(nowMs: started) }) {
            guards.admission.finish(nowMs: started)
            counters.count(\.breakerRejected)
            return finish(.heldBack(retryAfter: retryAfter))
        }
        exchange.exchange(identity) { outcome in
            let finished = guards.clock.now()
            guards.admission.finish(nowMs: finished)
            Self.record(outcome, of: identity, key: key, startedMs: started, finishedMs: finished, guards: guards, counters: counters)
            finish(outcome)
        }
    }

    /// What an upstream call's outcome changes: the breaker, the counters, the refused-key
    /// report, the local cache.
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
}
