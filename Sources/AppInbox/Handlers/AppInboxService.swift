/// What all workers share: configuration, log, counters, the identity hasher, the rate limiter,
/// the upstream guards and the rendered init scripts. Each worker thread gets its own
/// `AppInboxWorker` from `makeWorker()`; the service itself answers nothing.
public final class AppInboxService: Sendable {
    /// The configuration the process started with (upstream settings may since be reloaded).
    public let config: Config
    /// Where events are logged.
    public let log: Log
    /// Counters for the `status` route.
    public let metrics = Metrics()
    let guards: UpstreamGuards
    let hasher: IdentityHasher
    let limiter: RateLimiter?
    let repeatedParams = ThrottledReport()
    let keyFailures = ThrottledReport()
    /// The init script in every language, rendered once here; nil when `init.js` cannot be served.
    let initScripts: InitScriptCatalog?
    /// The verifier of signed identity tokens (nil: off), replaced whole on reload.
    let signedIdentity: ReadWriteLock<SignedIdentity?>

    /// The time for every time-based decision (cache, limits, breaker, cap, retries): an input,
    /// so that tests can run them on a virtual clock. The guards hold it.
    var clock: PipelineClock { guards.clock }

    /// Creates the shared state before the workers start. `makeTransport` gives each worker its
    /// connection to eSputnik.
    /// `fleet` (fleet mode) keeps the limits, the cache and single flight in Redis.
    public convenience init(config: Config, log: Log, fleet: Fleet? = nil, makeTransport: @escaping TransportFactory) throws(SetupError) {
        try self.init(config: config, log: log, clock: .monotonic, fleet: fleet, makeTransport: makeTransport)
    }

    init(config: Config, log: Log, clock: PipelineClock, fleet: Fleet? = nil, makeTransport: @escaping TransportFactory) throws(SetupError) {
        self.config = config
        self.log = log
        // The fleet's hosts must agree on every user's key; a lone responder's key is its own.
        if let secret = config.fleet.secret {
            hasher = IdentityHasher(secret: secret.identityKey)
        } else {
            hasher = try IdentityHasher()
        }
        let perMinute = config.resilience.rateLimitPerMinute
        limiter = perMinute > 0 ? RateLimiter(perMinute: perMinute) : nil
        guards = UpstreamGuards(config: config, log: log, clock: clock, fleet: fleet, makeTransport: makeTransport)
        initScripts = InitScriptCatalog(settings: config.initScript, basePath: config.basePath)
        signedIdentity = ReadWriteLock(config.signedIdentityVerifier)
    }

    /// A worker with its own transport and HMAC context; call on the worker's own thread.
    public func makeWorker() throws(SetupError) -> AppInboxWorker {
        let counters = metrics.makeShard()
        return AppInboxWorker(
            service: self, tokens: try TokenSource(guards: guards, counters: counters), keyer: try hasher.makeKeyer(),
            counters: counters)
    }

    /// Fleet mode's state and counters for `status`; nil when off.
    var fleet: Fleet? { guards.fleet }

    /// Whether the process should report itself unready (`APP_INBOX_HEALTH_STRICT`).
    var isUnhealthy: Bool {
        config.resilience.healthStrict && guards.breaker.withLock { !$0.isClosed }
    }

    /// A repeated identity param fails every request until the web server is fixed.
    func reportRepeatedParam(_ error: APIError) {
        repeatedParams.error("identity_param_repeated", detail: error.message, nowMs: clock.now(), to: log)
    }

    /// OpenSSL could not derive an identity key; the request went on without cache and limiter.
    func reportKeyFailure() {
        keyFailures.error(
            "identity_key_failed", detail: "HMAC-SHA256 failed; this request skipped the cache and the rate limit",
            nowMs: clock.now(), to: log)
    }
}
