import Synchronization

/// State shared by all workers: configuration, log, curl share handle, single-flight table,
/// cache, rate limiter, circuit breaker and counters. Each worker thread gets its own
/// `AppInboxWorker` from `makeWorker()`.
public final class AppInboxService: Sendable {
    /// The configuration the process started with (upstream settings may since be reloaded).
    public let config: Config
    /// Where events are logged.
    public let log: Log
    /// Counters for the `status` route.
    public let metrics = Metrics()
    let share: CurlShare
    let flights = SingleFlight<ContactIdentity, ExchangeOutcome>()
    let hasher: IdentityHasher
    let cache: TokenCache?
    let limiter: RateLimiter?
    let breaker: Locked<CircuitBreaker>
    let admission: UpstreamAdmission
    let upstream: Locked<UpstreamGeneration>
    /// `upstream`'s generation number, readable without the lock: a worker checks it before every
    /// exchange and takes the lock only after a reload changed it.
    let upstreamGeneration = Atomic<Int>(0)
    let authFailures = ThrottledReport()
    let repeatedParams = ThrottledReport()
    let keyFailures = ThrottledReport()
    /// The init script in every language, rendered once here; nil when `init.js` cannot be served.
    let initScripts: InitScriptCatalog?

    /// The upstream settings in force; workers rebuild their curl handle when `number` changes.
    struct UpstreamGeneration: Sendable {
        var number = 0
        var settings: UpstreamSettings
        var timeoutMs: Int
    }

    /// Creates the shared state; call after `CurlShare.globalInit()`, before the workers start.
    public init(config: Config, log: Log) throws(UpstreamSetupError) {
        self.config = config
        self.log = log
        share = try CurlShare()
        hasher = try IdentityHasher()
        let resilience = config.resilience
        cache = resilience.cacheTTLSeconds > 0 ? TokenCache(capacity: resilience.cacheMax) : nil
        limiter = resilience.rateLimitPerMinute > 0 ? RateLimiter(perMinute: resilience.rateLimitPerMinute) : nil
        breaker = Locked(
            CircuitBreaker(threshold: resilience.breakerFailures, cooldownSeconds: resilience.breakerCooldownSeconds))
        admission = UpstreamAdmission(threads: config.threads, maxUpstream: resilience.maxUpstream)
        upstream = Locked(UpstreamGeneration(settings: UpstreamSettings(config: config), timeoutMs: config.timeoutMs))
        initScripts = InitScriptCatalog(settings: config.initScript, basePath: config.basePath)
    }

    /// A worker with its own curl handle; call on the worker's own thread.
    public func makeWorker() throws(UpstreamSetupError) -> AppInboxWorker {
        let current = upstream.withLock { $0 }
        return AppInboxWorker(
            service: self, exchange: try makeExchange(current), generation: current.number,
            keyer: try hasher.makeKeyer())
    }

    func makeExchange(_ generation: UpstreamGeneration) throws(UpstreamSetupError) -> TokenExchange<CurlUpstream> {
        TokenExchange(
            transport: try CurlUpstream(settings: generation.settings, share: share), timeoutMs: generation.timeoutMs,
            log: log)
    }

    /// Whether the process should report itself unready (`APP_INBOX_HEALTH_STRICT`).
    var isUnhealthy: Bool {
        config.resilience.healthStrict && breaker.withLock { !$0.isClosed }
    }
}
