extension StatusReport {
    /// The same figures as OpenMetrics text, for Prometheus scrapers.
    var openMetrics: [UInt8] {
        var lines: [String] = []
        func family(_ name: String, _ type: String, _ help: String) {
            lines.append("# TYPE \(name) \(type)")
            lines.append("# HELP \(name) \(help)")
        }
        /// A family with one unlabelled sample; a counter's sample takes the `_total` suffix.
        func single(_ name: String, _ type: String, _ help: String, _ value: some CustomStringConvertible) {
            family(name, type, help)
            lines.append("\(name)\(type == "counter" ? "_total" : "") \(value)")
        }
        family("app_inbox", "info", "Version of app-inbox-fcgi.")  // an info family's samples end in _info
        lines.append("app_inbox_info{version=\"\(Config.version)\"} 1")
        single("app_inbox_uptime_seconds", "gauge", "Seconds since the process started.", uptimeSeconds)
        family("app_inbox_requests", "counter", "Requests answered, by route and status.")
        for route in counters.requests.keys.sorted() {
            for (status, count) in counters.requests[route]!.sorted(by: { $0.key < $1.key }) {
                lines.append("app_inbox_requests_total{route=\"\(route)\",status=\"\(status)\"} \(count)")
            }
        }
        family("app_inbox_upstream_calls", "counter", "Calls to eSputnik, by outcome.")
        for (outcome, count) in counters.upstreamCalls.sorted(by: { $0.key < $1.key }) {
            lines.append("app_inbox_upstream_calls_total{outcome=\"\(outcome)\"} \(count)")
        }
        family("app_inbox_upstream_latency_seconds", "histogram", "Duration of calls to eSputnik, retries included.")
        var cumulative = 0
        for (bound, count) in zip(Metrics.latencyBucketsMs, counters.latencyBuckets) {
            cumulative += count
            lines.append("app_inbox_upstream_latency_seconds_bucket{le=\"\(bound / 1000)\"} \(cumulative)")
        }
        lines.append("app_inbox_upstream_latency_seconds_bucket{le=\"+Inf\"} \(counters.latencyCount)")
        lines.append("app_inbox_upstream_latency_seconds_sum \(counters.latencySumMs / 1000)")
        lines.append("app_inbox_upstream_latency_seconds_count \(counters.latencyCount)")
        single("app_inbox_upstream_in_flight", "gauge", "Calls to eSputnik under way.", upstreamInFlight)
        single(
            "app_inbox_upstream_rejected_at_capacity", "counter",
            "Requests refused because APP_INBOX_MAX_UPSTREAM calls were under way.", counters.upstreamCapRejected)
        single(
            "app_inbox_upstream_rejected_over_budget", "counter",
            "Requests refused because the fleet's APP_INBOX_UPSTREAM_RPS was spent.", counters.budgetRejected)
        if let fleet {
            single("app_inbox_redis_up", "gauge", "1 while fleet mode's Redis connection is up.", fleet.state == "up" ? 1 : 0)
            single("app_inbox_redis_round_trips", "counter", "Redis commands answered.", fleet.stats.roundTrips)
            single("app_inbox_redis_errors", "counter", "Redis commands answered with an error.", fleet.stats.errors)
            single("app_inbox_redis_timeouts", "counter", "Times Redis did not answer within APP_INBOX_REDIS_TIMEOUT_MS.", fleet.stats.timeouts)
            single(
                "app_inbox_redis_fallbacks", "counter", "Token requests served with local limits because Redis was unavailable.",
                fleet.stats.fallbacks)
            single("app_inbox_redis_latency_seconds", "gauge", "Mean Redis round trip (weighted to recent ones).", fleet.stats.latencyMs / 1000)
            single("app_inbox_fleet_members", "gauge", "Responders seen in the fleet in the last 5 seconds.", fleet.stats.members)
        }
        single(
            "app_inbox_coalesced_requests", "counter", "Requests answered by another request's upstream call.",
            counters.coalesced)
        single("app_inbox_cache_hits", "counter", "Token requests answered from the cache.", counters.cacheHits)
        single("app_inbox_cache_misses", "counter", "Token requests the cache could not answer.", counters.cacheMisses)
        single("app_inbox_cache_evictions", "counter", "Cache entries evicted at APP_INBOX_CACHE_MAX.", cacheEvictions)
        single("app_inbox_cache_entries", "gauge", "Identities in the cache.", cacheSize)
        single("app_inbox_rate_limited", "counter", "Token requests refused with 429.", counters.rateLimited)
        family("app_inbox_identity_tokens", "counter", "Signed identity tokens by outcome (README.md \"Signed identity\").")
        for (outcome, count) in [
            ("verified", counters.tokensVerified), ("remembered", counters.tokensRemembered), ("refused", counters.tokensRefused),
        ] {
            lines.append("app_inbox_identity_tokens_total{outcome=\"\(outcome)\"} \(count)")
        }
        family("app_inbox_breaker_state", "stateset", "Circuit breaker state.")
        for phase in CircuitBreaker.Phase.allCases {
            lines.append(
                "app_inbox_breaker_state{app_inbox_breaker_state=\"\(phase.rawValue)\"} \(breaker.phase == phase ? 1 : 0)")
        }
        single("app_inbox_breaker_opened", "counter", "Times the circuit breaker opened.", breaker.openCount)
        single(
            "app_inbox_breaker_rejected", "counter", "Requests refused while the breaker was open.",
            counters.breakerRejected)
        if !limits.isEmpty {
            family("app_inbox_limit", "gauge", "The limits in force (README.md, status).")
            for (name, value) in limits { lines.append("app_inbox_limit{name=\"\(name)\"} \(value)") }
        }
        if let openDescriptors {
            single("app_inbox_open_fds", "gauge", "File descriptors open (kept connections hold one each).", openDescriptors)
        }
        if let descriptorLimit {
            single("app_inbox_max_fds", "gauge", "The soft RLIMIT_NOFILE, raised to the hard limit at start.", descriptorLimit)
        }
        if let listenQueueMax {
            single(
                "app_inbox_listen_queue_max", "gauge", "Longest accept queue seen on the listening socket.",
                listenQueueMax)
        }
        single("app_inbox_workers", "gauge", "Worker threads.", workers)
        single("app_inbox_workers_busy", "gauge", "Worker threads handling a request.", busyWorkers)
        lines.append("# EOF")
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }
}
