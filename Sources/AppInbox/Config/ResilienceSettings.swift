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
    /// Most concurrent calls to eSputnik; nil means `defaultMaxUpstream`, and
    /// `defaultMaxUpstreamWhileStalled` while eSputnik stalls.
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

    /// The default cap while eSputnik answers: calls wait in the curl event loop, not in
    /// threads, so this bounds only the memory and connections a burst may take.
    public static let defaultMaxUpstream = 1024
    /// The default cap while eSputnik stalls (`UpstreamAdmission`): requests beyond it get a fast
    /// 503 instead of waiting out the timeout, and a recovering eSputnik is not flooded.
    public static let defaultMaxUpstreamWhileStalled = 64
}
