extension AppInboxWorker {
    /// The token route: the validated identity in, `{"token":"…"}` out.
    /// Answers at once unless it must wait for eSputnik.
    func token(_ request: Request, _ trace: RequestTrace) -> Reply {
        let config = service.config
        if let refusal = OriginCheck.refusal(for: request, allowedOrigins: config.resilience.allowedOrigins) {
            return .now(refusal.response)
        }
        let identity: ContactIdentity
        do {
            identity = try self.identity(of: request)
        } catch {
            if error.code == .identityParamRepeated { service.reportRepeatedParam(error) }
            return .now(error.response)
        }
        // Masking costs a few allocations; only the info-level request line uses it.
        if service.log.enabled(.info) { trace.identity = identity.masked }

        let now = service.clock.now()
        let key = identityKey(identity)
        // fresh=1: the eSputnik script found its token invalid; fetch and replace it.
        let fresh = RequestTarget.query(of: request)["fresh"] == "1"
        let deferral = Deferral()
        let answer = { @Sendable (answer: TokenSource.Answer) in
            trace.upstreamStatus = answer.outcome.upstreamStatus
            trace.coalesced = answer.coalesced
            deferral.complete(answer.outcome.response)
        }
        if let fleet = service.fleet, let key {
            if fleet.isUp {
                viaFleet(identity, key: key, fresh: fresh, fleet: fleet, deferral: deferral, answer: answer)
                return deferral.reply
            }
            fleet.redis.noteFallback("redis is \(fleet.redis.state.name)")
        }
        if let key, let refusal = Self.locallyLimited(key, limiter: service.limiter, nowMs: now, counters: counters) {
            return .now(refusal)
        }
        tokens.token(for: identity, key: key, fresh: fresh, nowMs: now, done: answer)
        // A cache hit has answered already.
        return deferral.reply
    }

    /// Fleet mode with Redis up: the fleet's rate limit and cache in one round trip, on the
    /// exchange loop's thread, then the pipeline from there. Should Redis not answer in time,
    /// this responder's own rate limit applies, and its share of the budget.
    private func viaFleet(
        _ identity: ContactIdentity, key: IdentityKey, fresh: Bool, fleet: Fleet, deferral: Deferral,
        answer: @escaping @Sendable (TokenSource.Answer) -> Void
    ) {
        let pipeline = tokens.pipeline()
        let perMinute = service.config.resilience.rateLimitPerMinute
        let cacheEnabled = service.guards.cacheEnabled
        guard perMinute > 0 || cacheEnabled else {
            return pipeline.coalesced(identity, key: key, viaFleet: true, done: answer)
        }
        let (counters, limiter, clock) = (counters, service.limiter, service.clock)
        fleet.admit(key, perMinute: perMinute, readCache: cacheEnabled && !fresh) { admission in
            switch admission {
            case .limited(let retryAfter):
                counters.count(\.rateLimited)
                deferral.complete(APIError.rateLimited(retryAfter: retryAfter).response)
            case .cached(let outcome):
                counters.count(\.cacheHits)
                answer(TokenSource.Answer(outcome: outcome))
            case .miss:
                if cacheEnabled { counters.count(\.cacheMisses) }
                pipeline.coalesced(identity, key: key, viaFleet: true, done: answer)
            case .unavailable(let reason):
                fleet.redis.noteFallback(reason)
                if let refusal = Self.locallyLimited(key, limiter: limiter, nowMs: clock.now(), counters: counters) {
                    return deferral.complete(refusal)
                }
                pipeline.coalesced(identity, key: key, viaFleet: false, done: answer)
            }
        }
    }

    /// This responder's own rate limit (no fleet mode, or Redis unavailable): the 429 to answer,
    /// counted, or nil when the request may go on.
    private static func locallyLimited(
        _ key: IdentityKey, limiter: RateLimiter?, nowMs: Double, counters: Metrics.Shard
    ) -> Response? {
        guard let limiter, let retryAfter = limiter.admit(key, nowMs: nowMs) else { return nil }
        counters.count(\.rateLimited)
        return APIError.rateLimited(retryAfter: retryAfter).response
    }

    /// The identity the web server set in params; failing that, when signed identity is on, the
    /// one a verified token vouches for (a server-set identity wins).
    private func identity(of request: Request) throws(APIError) -> ContactIdentity {
        do {
            return try ContactIdentity.read(from: request, params: service.config.identityParams)
        } catch  where error.code == .unauthenticated {
            guard let signed = service.signedIdentity.read({ $0 }) else { throw error }
            do {
                let vouched = try signed.vouched(by: request, now: WallClock.seconds())
                counters.count(vouched.remembered ? \.tokensRemembered : \.tokensVerified)
                return vouched.identity
            } catch  where error.code == .invalidIdentityToken || error.code == .identityTokenExpired {
                counters.count(\.tokensRefused)
                service.log.info("identity_token_refused", ["reason": error.message])
                throw error
            }
        }
    }

    /// The identity's cache, rate-limit and fleet key, when any is on. Without a key the request
    /// skips them all: filing it under any shared key could hand it another user's token.
    private func identityKey(_ identity: ContactIdentity) -> IdentityKey? {
        guard service.guards.cache != nil || service.limiter != nil || service.fleet != nil else { return nil }
        let key = keyer.key(for: identity)
        if key == nil { service.reportKeyFailure() }
        return key
    }
}

/// The token route's success body.
public enum TokenAnswer {
    /// `{"token":"…"}` with the token byte-exact after JSON decoding.
    public static func body(_ token: String) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(token.utf8.count + 16)
        body.append(contentsOf: #"{"token":"#.utf8)
        JSONString.append(token, to: &body)
        body.append(UInt8(ascii: "}"))
        return body
    }
}
