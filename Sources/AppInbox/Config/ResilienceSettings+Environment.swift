extension ResilienceSettings {
    /// Reads the `APP_INBOX_*` variables of the cache, limits, breaker and cross-site guard.
    init(_ reader: inout EnvironmentReader) {
        var settings = ResilienceSettings()
        reader.integer("APP_INBOX_CACHE_TTL_S", in: 0...86_400, into: &settings.cacheTTLSeconds)
        reader.integer("APP_INBOX_NEGATIVE_TTL_S", in: 0...86_400, into: &settings.negativeTTLSeconds)
        reader.integer("APP_INBOX_CACHE_MAX", in: 1...10_000_000, into: &settings.cacheMax)
        reader.integer("APP_INBOX_RATE_LIMIT_PER_MIN", in: 0...1_000_000, into: &settings.rateLimitPerMinute)
        if reader.string("APP_INBOX_MAX_UPSTREAM") != nil {
            var maxUpstream = 1
            reader.integer("APP_INBOX_MAX_UPSTREAM", in: 1...10_000, into: &maxUpstream)
            if !reader.hasProblem("APP_INBOX_MAX_UPSTREAM") { settings.maxUpstream = maxUpstream }
        }
        reader.integer("APP_INBOX_BREAKER_FAILURES", in: 1...1000, into: &settings.breakerFailures)
        reader.integer("APP_INBOX_BREAKER_COOLDOWN_S", in: 1...3600, into: &settings.breakerCooldownSeconds)
        if let origins = reader.string("APP_INBOX_ALLOWED_ORIGINS") {
            for origin in origins.split(separator: ",").map({ ASCII.trimmed(String($0)) }) where !origin.isEmpty {
                if let normalized = OriginCheck.normalize(origin) {
                    settings.allowedOrigins.append(normalized)
                } else {
                    reader.problem(.init("APP_INBOX_ALLOWED_ORIGINS", "'\(origin)' is not an origin such as https://shop.example"))
                }
            }
        }
        reader.flag("APP_INBOX_HEALTH_STRICT", into: &settings.healthStrict)
        self = settings
    }

    /// This type's rows of `Config.settings`.
    var settings: [Setting] {
        let cap =
            maxUpstream.map(String.init)
            ?? "\(Self.defaultMaxUpstream), \(Self.defaultMaxUpstreamWhileStalled) while eSputnik stalls"
        return [
            Setting(
                "APP_INBOX_CACHE_TTL_S", String(cacheTTLSeconds),
                shown: "\(cacheTTLSeconds)\(cacheTTLSeconds == 0 ? " (cache off)" : "")"),
            Setting("APP_INBOX_NEGATIVE_TTL_S", String(negativeTTLSeconds)),
            Setting("APP_INBOX_CACHE_MAX", String(cacheMax)),
            Setting(
                "APP_INBOX_RATE_LIMIT_PER_MIN", String(rateLimitPerMinute),
                shown: "\(rateLimitPerMinute)\(rateLimitPerMinute == 0 ? " (off)" : "")"),
            Setting("APP_INBOX_MAX_UPSTREAM", maxUpstream.map(String.init) ?? "", shown: cap),
            Setting("APP_INBOX_BREAKER_FAILURES", String(breakerFailures)),
            Setting("APP_INBOX_BREAKER_COOLDOWN_S", String(breakerCooldownSeconds)),
            Setting(
                "APP_INBOX_ALLOWED_ORIGINS", allowedOrigins.joined(separator: ","),
                shown: allowedOrigins.isEmpty ? "(any same-site)" : allowedOrigins.joined(separator: ",")),
            Setting("APP_INBOX_HEALTH_STRICT", healthStrict ? "1" : "0"),
        ]
    }
}
