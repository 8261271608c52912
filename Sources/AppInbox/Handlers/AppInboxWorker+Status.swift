extension AppInboxWorker {
    /// The `status` route: counters as JSON, or OpenMetrics text with `?format=prometheus`.
    /// Restrict it to local addresses in the web server (see nginx/app-inbox.conf).
    func status(_ request: Request) -> Response {
        let metrics = service.metrics
        let cacheStats = service.guards.cache?.stats ?? (size: 0, evictions: 0)
        let report = StatusReport(
            counters: metrics.snapshot, uptimeSeconds: metrics.uptimeSeconds, workers: service.config.threads,
            busyWorkers: metrics.busyWorkers.load(ordering: .relaxed),
            upstreamInFlight: service.guards.admission.count, cacheEnabled: service.guards.cacheEnabled,
            signedIdentityEnabled: service.signedIdentity.read { $0 != nil },
            cacheSize: cacheStats.size, cacheEvictions: cacheStats.evictions, breaker: service.guards.breaker.withLock { $0 },
            listenQueueMax: metrics.listenQueueMaxIfKnown, openDescriptors: Descriptors.openCount(),
            descriptorLimit: Descriptors.limit,
            fleet: service.fleet.map { ($0.redis.state.name, $0.redis.stats.withLock { $0 }) }, limits: limits)
        if RequestTarget.query(of: request)["format"] == "prometheus" {
            return Response(
                status: 200,
                headers: [
                    .init("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8"),
                    .init("Cache-Control", "no-store"), .init("X-Content-Type-Options", "nosniff"),
                ],
                body: report.openMetrics)
        }
        return .json(report.json)
    }

    /// Every limit an operator may need to read next to its counter, with its variable's value.
    private var limits: KeyValuePairs<String, Int> {
        let config = service.config
        let resilience = config.resilience
        return [
            "idle_timeout_s": config.idleTimeoutSeconds,
            "max_params_bytes": config.maxParamsBytes,
            "max_body_bytes": Request.maxBodyBytes,
            "timeout_ms": config.timeoutMs,
            "connect_timeout_ms": config.connectTimeoutMs,
            "max_upstream": service.guards.admission.cap,
            "max_upstream_while_stalled": service.guards.admission.stalledCap,
            "rate_limit_per_min": resilience.rateLimitPerMinute,
            "cache_max": resilience.cacheMax,
            "upstream_rps": service.fleet == nil ? 0 : config.fleet.upstreamRPS,
            "redis_timeout_ms": service.fleet == nil ? 0 : config.fleet.redisTimeoutMs,
        ]
    }
}
