extension AppInboxService {
    /// One upstream call as a single-flight leader makes it: through the concurrency cap and the
    /// circuit breaker, timed and counted, its token cached when the cache is on.
    func guardedExchange(
        _ identity: ContactIdentity, key: IdentityKey?, with exchange: TokenExchange<CurlUpstream>,
        counters: Metrics.Shard
    ) -> ExchangeOutcome {
        // The cap first: a probe refused at capacity must not leave the breaker half-open forever.
        let started = MonotonicClock.nowMs()
        guard admission.admit(nowMs: started) else {
            counters.count(\.upstreamCapRejected)
            return ExchangeOutcome(result: .failure(.upstreamUnavailable(retryAfter: 1)), upstreamStatus: nil, attempts: 0)
        }
        defer { admission.finish(nowMs: MonotonicClock.nowMs()) }

        if case .reject(let retryAfter) = breaker.withLock({ $0.decide(nowMs: started) }) {
            counters.count(\.breakerRejected)
            return ExchangeOutcome(
                result: .failure(.upstreamUnavailable(retryAfter: retryAfter)), upstreamStatus: nil, attempts: 0)
        }
        let outcome = exchange.exchange(identity)
        let finished = MonotonicClock.nowMs()
        let wasOpen = breaker.withLock { breaker in
            let before = breaker.opened
            breaker.record(failed: outcome.isUpstreamFailure, nowMs: finished)
            return breaker.opened > before
        }
        if wasOpen {
            log.error(
                "breaker_opened",
                ["cooldown_s": String(config.resilience.breakerCooldownSeconds), "reason": outcome.metricLabel])
        }
        counters.recordUpstream(outcome: outcome.metricLabel, durationMs: finished - started)
        if case .failure(let error) = outcome.result, error.code == .upstreamAuthFailed {
            reportAuthFailure(status: outcome.upstreamStatus, nowMs: finished)
        }
        if let cache, let key, case .success(let token) = outcome.result {
            let resilience = config.resilience
            cache.store(
                key, token: token, ttlSeconds: token.isEmpty ? resilience.negativeTTLSeconds : resilience.cacheTTLSeconds,
                nowMs: finished)
        }
        return outcome
    }

    /// A wrong API key fails every request; say so at error level once a minute, with a count.
    private func reportAuthFailure(status: Int?, nowMs: Double) {
        guard let suppressed = authFailures.occurrence(nowMs: nowMs) else { return }
        log.error(
            "upstream_auth_failed",
            [
                "detail": "eSputnik refused the API key (HTTP \(status ?? 0)); check APP_INBOX_API_KEY",
                "since_last_report": String(suppressed),
            ])
    }

    /// A repeated identity param fails every request until the web server is fixed.
    func reportRepeatedParam(_ error: APIError) {
        guard let suppressed = repeatedParams.occurrence(nowMs: MonotonicClock.nowMs()) else { return }
        log.error("identity_param_repeated", ["detail": error.message, "since_last_report": String(suppressed)])
    }

    /// OpenSSL could not derive an identity key; the request went on without cache and limiter.
    func reportKeyFailure() {
        guard let suppressed = keyFailures.occurrence(nowMs: MonotonicClock.nowMs()) else { return }
        log.error(
            "identity_key_failed",
            [
                "detail": "HMAC-SHA256 failed; this request skipped the cache and the rate limit",
                "since_last_report": String(suppressed),
            ])
    }
}
