extension StatusReport {
    /// The same figures as OpenMetrics text, for Prometheus scrapers.
    var openMetrics: [UInt8] {
        var lines: [String] = []
        func family(_ name: String, _ type: String, _ help: String) {
            lines.append("# TYPE \(name) \(type)")
            lines.append("# HELP \(name) \(help)")
        }
        family("app_inbox", "info", "Version of app-inbox-fcgi.")  // samples of an info family end in _info
        lines.append("app_inbox_info{version=\"\(Config.version)\"} 1")
        family("app_inbox_uptime_seconds", "gauge", "Seconds since the process started.")
        lines.append("app_inbox_uptime_seconds \(uptimeSeconds)")
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
        family("app_inbox_upstream_in_flight", "gauge", "Calls to eSputnik under way.")
        lines.append("app_inbox_upstream_in_flight \(upstreamInFlight)")
        family("app_inbox_upstream_rejected_at_capacity", "counter", "Requests refused because APP_INBOX_MAX_UPSTREAM calls were under way.")
        lines.append("app_inbox_upstream_rejected_at_capacity_total \(counters.upstreamCapRejected)")
        family("app_inbox_coalesced_requests", "counter", "Requests answered by another request's upstream call.")
        lines.append("app_inbox_coalesced_requests_total \(counters.coalesced)")
        family("app_inbox_cache_hits", "counter", "Token requests answered from the cache.")
        lines.append("app_inbox_cache_hits_total \(counters.cacheHits)")
        family("app_inbox_cache_misses", "counter", "Token requests the cache could not answer.")
        lines.append("app_inbox_cache_misses_total \(counters.cacheMisses)")
        family("app_inbox_cache_evictions", "counter", "Cache entries evicted at APP_INBOX_CACHE_MAX.")
        lines.append("app_inbox_cache_evictions_total \(cacheEvictions)")
        family("app_inbox_cache_entries", "gauge", "Identities in the cache.")
        lines.append("app_inbox_cache_entries \(cacheSize)")
        family("app_inbox_rate_limited", "counter", "Token requests refused with 429.")
        lines.append("app_inbox_rate_limited_total \(counters.rateLimited)")
        family("app_inbox_breaker_state", "stateset", "Circuit breaker state.")
        for state in ["closed", "open", "half_open"] {
            lines.append("app_inbox_breaker_state{app_inbox_breaker_state=\"\(state)\"} \(breaker.name == state ? 1 : 0)")
        }
        family("app_inbox_breaker_opened", "counter", "Times the circuit breaker opened.")
        lines.append("app_inbox_breaker_opened_total \(breaker.opened)")
        family("app_inbox_breaker_rejected", "counter", "Requests refused while the breaker was open.")
        lines.append("app_inbox_breaker_rejected_total \(counters.breakerRejected)")
        if let listenQueueMax {
            family("app_inbox_listen_queue_max", "gauge", "Longest accept queue seen on the listening socket.")
            lines.append("app_inbox_listen_queue_max \(listenQueueMax)")
        }
        family("app_inbox_workers", "gauge", "Worker threads.")
        lines.append("app_inbox_workers \(workers)")
        family("app_inbox_workers_busy", "gauge", "Worker threads handling a request.")
        lines.append("app_inbox_workers_busy \(busyWorkers)")
        lines.append("# EOF")
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }
}
