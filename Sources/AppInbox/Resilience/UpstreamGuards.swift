import Synchronization

/// Makes one worker's transport to eSputnik from the upstream settings in force. Production
/// wires `CurlUpstream` here (app-inbox-fcgi's `Command.serve`); tests wire a script.
public typealias TransportFactory = @Sendable (UpstreamSettings) throws(SetupError) -> any UpstreamTransport

/// The half of the token pipeline that every worker shares: single-flight table, cache, circuit
/// breaker, upstream cap, fleet mode, the upstream settings in force and the auth-failure report.
/// Each worker's `TokenSource` composes these with its own exchange and counters.
public final class UpstreamGuards: Sendable {
    let flights = SingleFlight<ContactIdentity, TokenSource.Answer>()
    /// This responder's cache; nil when the cache is off or kept by the fleet in Redis.
    let cache: TokenCache?
    /// Fleet mode's shared limits, cache and single flight; nil when off.
    let fleet: Fleet?
    let breaker: Locked<CircuitBreaker>
    let admission: UpstreamAdmission
    let settings: ResilienceSettings
    let log: Log
    /// The time for every decision here, and the exchanges' pauses.
    let clock: PipelineClock
    let authFailures = ThrottledReport()
    private let makeTransport: TransportFactory
    private let upstream: Locked<Generation>
    /// `upstream`'s number, readable without the lock: a worker checks it before every exchange
    /// and takes the lock only after a reload changed it.
    private let generation = Atomic<Int>(0)

    /// The upstream settings in force; workers rebuild their transport when `number` changes.
    struct Generation: Sendable {
        var number = 0
        var settings: UpstreamSettings
        var timeoutMs: Int
    }

    init(config: Config, log: Log, clock: PipelineClock, fleet: Fleet?, makeTransport: @escaping TransportFactory) {
        let resilience = config.resilience
        settings = resilience
        self.log = log
        self.clock = clock
        self.fleet = fleet
        self.makeTransport = makeTransport
        cache = resilience.cacheTTLSeconds > 0 && fleet == nil ? TokenCache(capacity: resilience.cacheMax) : nil
        breaker = Locked(
            CircuitBreaker(threshold: resilience.breakerFailures, cooldownSeconds: resilience.breakerCooldownSeconds))
        admission = UpstreamAdmission(maxUpstream: resilience.maxUpstream)
        upstream = Locked(Generation(settings: UpstreamSettings(config: config), timeoutMs: config.timeoutMs))
    }

    /// Puts new upstream settings in force (a reload); returns whether the API key changed.
    func publish(_ settings: UpstreamSettings, timeoutMs: Int) -> Bool {
        upstream.withLock { current in
            let rotated = !current.settings.apiKey.utf8.elementsEqual(settings.apiKey.utf8)
            current = Generation(number: current.number + 1, settings: settings, timeoutMs: timeoutMs)
            // Published under the lock, after the new settings: a worker that sees the number
            // finds them when it takes the lock.
            generation.store(current.number, ordering: .releasing)
            return rotated
        }
    }

    /// The settings' number, without a lock.
    var currentNumber: Int { generation.load(ordering: .acquiring) }

    /// A new exchange over the settings in force, and their number.
    func makeExchange() throws(SetupError) -> (TokenExchange, number: Int) {
        let current = upstream.withLock { $0 }
        let transport = try makeTransport(current.settings)
        return (TokenExchange(transport: transport, timeoutMs: current.timeoutMs, log: log, clock: clock), current.number)
    }

    /// Whether the opt-in cache is on, in this responder or in the fleet's Redis.
    var cacheEnabled: Bool { settings.cacheTTLSeconds > 0 }

    /// How long the fleet caches a leader's outcome: nil when the cache is off or the call
    /// failed (a failure leaves the cached token alone), the negative TTL for "no such contact".
    func fleetCacheSeconds(for outcome: ExchangeOutcome) -> Int? {
        guard cacheEnabled, case .success(let token) = outcome.result else { return nil }
        return token.isEmpty ? settings.negativeTTLSeconds : settings.cacheTTLSeconds
    }

    /// A wrong API key fails every request; say so at error level once a minute, with a count.
    func reportAuthFailure(status: Int?, nowMs: Double) {
        authFailures.error(
            "upstream_auth_failed", detail: "eSputnik refused the API key (HTTP \(status ?? 0)); check APP_INBOX_API_KEY",
            nowMs: nowMs, to: log)
    }
}
