/// How the responder protects the site, eSputnik's quota and itself (cache, limits, breaker,
/// cross-site guard). Defaults as README.md "Configuration" lists them; each field maps to one `APP_INBOX_*` variable.
public struct ResilienceSettings: Sendable, Equatable {
    /// Seconds a token is reused for the same identity; 0 turns the cache off, because eSputnik
    /// may invalidate a token at any moment.
    public var cacheTTLSeconds = 0
    /// Seconds an empty token ("no such contact") is reused, when the cache is on.
    public var negativeTTLSeconds = 10
    /// Most identities kept in the cache; the oldest entry is evicted beyond it.
    public var cacheMax = 10_000
    /// Token requests per identity per minute; 0 turns the limit off.
    public var rateLimitPerMinute = 60
    /// Most concurrent calls to eSputnik; nil means `defaultMaxUpstream(threads:)`.
    public var maxUpstream: Int?
    /// Consecutive upstream failures that open the circuit breaker.
    public var breakerFailures = 5
    /// Seconds the breaker stays open before one probe is let through.
    public var breakerCooldownSeconds = 10
    /// Origins (scheme://host[:port]) allowed to call the token route; empty allows any
    /// same-site request.
    public var allowedOrigins: [String] = []
    /// Whether `healthz` reports 503 while the breaker is open.
    public var healthStrict = false

    /// Creates the default settings.
    public init() {}

    /// The default cap while eSputnik stalls (`UpstreamAdmission`): a quarter of the workers (at
    /// least one) stay out of its reach, so that `healthz`, `init.js` and `status` still answer
    /// at once. One worker can reserve nothing and keeps its one call.
    public static func defaultMaxUpstream(threads: Int) -> Int {
        max(1, threads - max(1, threads / 4))
    }
}

extension Config {
    static func loadResilience(_ reader: EnvironmentReader, _ problems: inout [ConfigProblem]) -> ResilienceSettings {
        var settings = ResilienceSettings()
        reader.integer("APP_INBOX_CACHE_TTL_S", in: 0...86_400, into: &settings.cacheTTLSeconds, &problems)
        reader.integer("APP_INBOX_NEGATIVE_TTL_S", in: 0...86_400, into: &settings.negativeTTLSeconds, &problems)
        reader.integer("APP_INBOX_CACHE_MAX", in: 1...10_000_000, into: &settings.cacheMax, &problems)
        reader.integer("APP_INBOX_RATE_LIMIT_PER_MIN", in: 0...1_000_000, into: &settings.rateLimitPerMinute, &problems)
        var maxUpstream = 0
        reader.integer("APP_INBOX_MAX_UPSTREAM", in: 1...10_000, into: &maxUpstream, &problems)
        settings.maxUpstream = maxUpstream > 0 ? maxUpstream : nil
        reader.integer("APP_INBOX_BREAKER_FAILURES", in: 1...1000, into: &settings.breakerFailures, &problems)
        reader.integer("APP_INBOX_BREAKER_COOLDOWN_S", in: 1...3600, into: &settings.breakerCooldownSeconds, &problems)
        if let origins = reader.string("APP_INBOX_ALLOWED_ORIGINS") {
            for origin in origins.split(separator: ",").map({ trimmed(String($0)) }) where !origin.isEmpty {
                if let normalized = OriginCheck.normalize(origin) {
                    settings.allowedOrigins.append(normalized)
                } else {
                    problems.append(.init("APP_INBOX_ALLOWED_ORIGINS", "'\(origin)' is not an origin such as https://shop.example"))
                }
            }
        }
        reader.flag("APP_INBOX_HEALTH_STRICT", into: &settings.healthStrict, &problems)
        return settings
    }

    var resilienceSummary: [String] {
        let settings = resilience
        return [
            "APP_INBOX_CACHE_TTL_S=\(settings.cacheTTLSeconds)\(settings.cacheTTLSeconds == 0 ? " (cache off)" : "")",
            "APP_INBOX_NEGATIVE_TTL_S=\(settings.negativeTTLSeconds)",
            "APP_INBOX_CACHE_MAX=\(settings.cacheMax)",
            "APP_INBOX_RATE_LIMIT_PER_MIN=\(settings.rateLimitPerMinute)\(settings.rateLimitPerMinute == 0 ? " (off)" : "")",
            "APP_INBOX_MAX_UPSTREAM=\(settings.maxUpstream.map(String.init) ?? "\(threads), \(ResilienceSettings.defaultMaxUpstream(threads: threads)) while eSputnik stalls")",
            "APP_INBOX_BREAKER_FAILURES=\(settings.breakerFailures)",
            "APP_INBOX_BREAKER_COOLDOWN_S=\(settings.breakerCooldownSeconds)",
            "APP_INBOX_ALLOWED_ORIGINS=\(settings.allowedOrigins.isEmpty ? "(any same-site)" : settings.allowedOrigins.joined(separator: ","))",
            "APP_INBOX_HEALTH_STRICT=\(settings.healthStrict ? 1 : 0)",
        ]
    }
}
