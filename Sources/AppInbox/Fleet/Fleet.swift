import CCrypto

/// Fleet mode (`APP_INBOX_REDIS_URL`): the responders of several hosts share one per-identity
/// rate limit, one budget of calls to eSputnik, one opt-in cache and one single flight per
/// identity, kept in Redis (README.md "Scaling out", docs/ARCHITECTURE.md "Fleet mode"). Users are named there by their
/// fleet-wide HMAC identity key only, and what is stored is sealed (`FleetSecret`).
///
/// Each operation hops to the exchange loop's thread, sends one script and hands its decision to
/// `done` there. When Redis does not answer in time or is down, the decision is `.unavailable`
/// and the caller goes on with this responder's own limits: Redis alone never fails a request.
public final class Fleet: Sendable {
    let settings: FleetSettings
    let secret: FleetSecret
    let redis: RedisClient
    /// The budget's share that this responder keeps while Redis is unavailable.
    let localBudget: UpstreamBudget
    private let loop: CurlMulti
    private let prefix: String
    private let shas: [[UInt8]]
    /// How long a lead, and a leader's outcome, live in Redis: the exchange's deadline and a margin.
    private let leaseMs: Int

    /// How often a request that follows another host's call asks whether it has finished.
    static let pollMs = 20.0
    /// How long a responder counts as a member of the fleet after its last heartbeat.
    static let memberWindowMs = 5000

    /// Why a script gave no decision: the request goes on with local limits.
    struct DecisionError: Error, CustomStringConvertible {
        let description: String

        init(_ description: String) {
            self.description = description
        }
    }

    private enum Script: Int {
        case admit, lead, finish, heartbeat
    }

    /// Connects to Redis on `loop`'s thread (in the background: the responder serves with local
    /// limits until Redis answers).
    public init(settings: FleetSettings, secret: FleetSecret, exchangeTimeoutMs: Int, loop: CurlMulti, log: Log) throws(SetupError) {
        guard let endpoint = settings.redis else { throw SetupError(function: "Fleet", detail: "no APP_INBOX_REDIS_URL") }
        self.settings = settings
        self.secret = secret
        self.loop = loop
        prefix = "app-inbox:\(secret.namespace):"
        var shas: [[UInt8]] = []
        for script in FleetScripts.all {
            guard let sha = Self.sha1Hex(script) else { throw SetupError(function: "SHA1", detail: "OpenSSL failed") }
            shas.append(sha)
        }
        self.shas = shas
        leaseMs = exchangeTimeoutMs + 1000
        localBudget = UpstreamBudget(perSecond: Double(settings.upstreamRPS))
        guard let member = Self.randomName() else {
            throw SetupError(function: "RAND_bytes", detail: "no randomness available")
        }
        let heartbeat = Self.evalsha(
            shas[Script.heartbeat.rawValue], keys: [prefix + "members"],
            arguments: [member, String(Self.memberWindowMs)].map { Array($0.utf8) })
        let budget = localBudget
        let rps = Double(settings.upstreamRPS)
        redis = try RedisClient(
            endpoint: endpoint, timeoutMs: settings.redisTimeoutMs, scripts: FleetScripts.all, heartbeat: heartbeat, loop: loop,
            log: log
        ) { members in
            budget.setRate(perSecond: rps / Double(max(members, 1)))
        }
    }

    /// Whether Redis is connected; when not, requests go the local way without trying it.
    var isUp: Bool { redis.state == .up }

    /// What a request may do, from its identity's rate limit and the cache.
    enum Admission: Sendable {
        case limited(retryAfter: Int)
        case cached(ExchangeOutcome)
        case miss
        case unavailable(String)
    }

    /// Counts a request against its identity's limit (`perMinute`, 0: no limit) and, when
    /// `readCache`, looks up its cached token.
    func admit(_ key: IdentityKey, perMinute: Int, readCache: Bool, done: @escaping @Sendable (Admission) -> Void) {
        guard perMinute > 0 else { return readCache ? lookup(key, done: done) : done(.miss) }
        let rate = CellRate(perMinute: perMinute)
        let command = evalsha(
            .admit, keys: [name("r", key), name("c", key)],
            arguments: [String(rate.intervalMs), String(rate.burstMs), readCache ? "1" : "0"])
        loop.perform {
            self.redis.send(command) { result in
                switch Self.decision(result) {
                case .failure(let reason): done(.unavailable(reason.description))
                case .success((0, .integer(let seconds))): done(.limited(retryAfter: max(1, seconds)))
                case .success((1, _)): done(.miss)
                case .success((2, .bulk(let sealed))):
                    // A value that does not open (another secret, or changed) is a miss, and is replaced.
                    done(self.opened(sealed, key).map(Admission.cached) ?? .miss)
                case .success(let other): done(.unavailable("unexpected reply to the admit script: \(other)"))
                }
            }
        }
    }

    /// The cache alone, without a rate limit: a plain GET, which costs Redis a fraction of a script.
    private func lookup(_ key: IdentityKey, done: @escaping @Sendable (Admission) -> Void) {
        let command = [Array("GET".utf8), Array(name("c", key).utf8)]
        loop.perform {
            self.redis.send(command) { result in
                switch result {
                case .unavailable(let reason): done(.unavailable(reason))
                case .reply(.null): done(.miss)
                case .reply(.bulk(let sealed)): done(self.opened(sealed, key).map(Admission.cached) ?? .miss)
                case .reply(let other): done(.unavailable("unexpected reply to GET: \(other)"))
                }
            }
        }
    }

    /// Who calls eSputnik for an identity that missed.
    enum Lead: Sendable {
        /// This request: call, then `finish` with the lease.
        case lead(lease: String)
        /// Another host's call finished meanwhile; its outcome.
        case outcome(ExchangeOutcome)
        case overBudget(retryAfter: Int)
        case unavailable(String)
    }

    /// Takes the lease for `key` within the fleet's budget, or follows the call that holds it
    /// (asking every `pollMs`) until it has an outcome or `deadlineMs` (monotonic) passes.
    func lead(_ key: IdentityKey, deadlineMs: Double, done: @escaping @Sendable (Lead) -> Void) {
        guard let lease = Self.randomName() else { return done(.unavailable("RAND_bytes failed")) }
        loop.perform { self.lead(key, lease: lease, following: "-", deadlineMs: deadlineMs, done: done) }
    }

    private func lead(
        _ key: IdentityKey, lease: String, following: String, deadlineMs: Double, done: @escaping @Sendable (Lead) -> Void
    ) {
        let budget = CellRate(perSecond: Double(settings.upstreamRPS), burstMs: UpstreamBudget.burstMs)
        let command = evalsha(
            .lead, keys: [name("l", key), prefix + "budget", name("f", key) + ":" + following],
            arguments: [lease, String(leaseMs), String(budget.intervalMs), String(budget.burstMs)])
        redis.send(command) { result in
            switch Self.decision(result) {
            case .failure(let reason): done(.unavailable(reason.description))
            case .success((0, _)): done(.lead(lease: lease))
            case .success((1, .bulk(let holder))):
                guard MonotonicClock.nowMs() + Self.pollMs < deadlineMs else {
                    return done(.outcome(ExchangeOutcome(result: .failure(.timedOut))))
                }
                let holder = String(decoding: holder, as: UTF8.self)
                self.loop.after(Self.pollMs) {
                    self.lead(key, lease: lease, following: holder, deadlineMs: deadlineMs, done: done)
                }
            case .success((2, .integer(let seconds))): done(.overBudget(retryAfter: max(1, seconds)))
            case .success((3, .bulk(let sealed))):
                done(self.opened(sealed, key).map(Lead.outcome) ?? .unavailable("a result in Redis that does not open"))
            case .success(let other): done(.unavailable("unexpected reply to the lead script: \(other)"))
            }
        }
    }

    /// The leader's outcome, for its followers and (`cacheSeconds`: nil when the cache is off;
    /// 0 removes) for the cache; the lease is given back. `then` runs when Redis has it (or
    /// could not take it): answering only then means that a request the user sends after this
    /// answer never follows this call and gets its token again (a `fresh=1` would otherwise get
    /// the very token it asked to replace).
    func finish(
        _ key: IdentityKey, lease: String, outcome: ExchangeOutcome, cacheSeconds: Int?,
        then: @escaping @Sendable () -> Void
    ) {
        let binding = key.digest.bytes
        guard let sealed = secret.seal(FleetOutcome.encode(outcome), boundTo: binding) else { return then() }
        let command = evalsha(
            .finish, keys: [name("l", key), name("f", key) + ":" + lease, name("c", key)],
            arguments: [Array(lease.utf8), sealed, Array(String(leaseMs).utf8), Array((cacheSeconds.map { String($0 * 1000) } ?? "-").utf8)])
        loop.perform { self.redis.send(command) { _ in then() } }
    }

    /// A script's reply `{code, payload}`, or why there is none.
    private static func decision(_ result: RedisResult) -> Result<(Int, RedisReply), DecisionError> {
        switch result {
        case .unavailable(let reason): return .failure(DecisionError(reason))
        case .reply(.array(let items)):
            guard case .integer(let code) = items.first else { break }
            return .success((code, items.count > 1 ? items[1] : .null))
        case .reply(.error(let message)): return .failure(DecisionError("redis: \(message)"))
        case .reply: break
        }
        return .failure(DecisionError("unexpected reply from a script: \(result)"))
    }

    private func opened(_ sealed: [UInt8], _ key: IdentityKey) -> ExchangeOutcome? {
        secret.open(sealed, boundTo: key.digest.bytes).flatMap(FleetOutcome.decode)
    }

    /// A Redis key of this fleet for an identity: `app-inbox:<namespace>:<kind>:<hex identity key>`.
    private func name(_ kind: String, _ key: IdentityKey) -> String {
        prefix + kind + ":" + Hex.encode(key.digest.bytes)
    }

    private func evalsha(_ script: Script, keys: [String], arguments: [String]) -> [[UInt8]] {
        evalsha(script, keys: keys, arguments: arguments.map { Array($0.utf8) })
    }

    private func evalsha(_ script: Script, keys: [String], arguments: [[UInt8]]) -> [[UInt8]] {
        Self.evalsha(shas[script.rawValue], keys: keys, arguments: arguments)
    }

    /// `EVALSHA sha numkeys key… argument…`.
    private static func evalsha(_ sha: [UInt8], keys: [String], arguments: [[UInt8]]) -> [[UInt8]] {
        [Array("EVALSHA".utf8), sha, Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) } + arguments
    }

    /// 8 random bytes in hex, naming a lease or this responder among the fleet's members; nil
    /// when OpenSSL has no randomness.
    private static func randomName() -> String? {
        var bytes = [UInt8](repeating: 0, count: 8)
        return RAND_bytes(&bytes, Int32(bytes.count)) == 1 ? Hex.encode(bytes) : nil
    }

    /// The name Redis gives a script (SHA-1 of its text, in hex), for EVALSHA.
    private static func sha1Hex(_ script: String) -> [UInt8]? {
        let bytes = Array(script.utf8)
        var digest = [UInt8](repeating: 0, count: 20)
        guard SHA1(bytes, bytes.count, &digest) != nil else { return nil }
        return Array(Hex.encode(digest).utf8)
    }
}
