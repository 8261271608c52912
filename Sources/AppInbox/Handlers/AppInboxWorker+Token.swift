extension AppInboxWorker {
    /// The token route: the validated identity in, `{"token":"…"}` out, through the cross-site
    /// guard, the per-identity rate limit, the opt-in cache and single flight.
    func token(_ request: Request, _ trace: inout RequestTrace) -> Response {
        let config = service.config
        if let refusal = OriginCheck.verdict(request, allowedOrigins: config.resilience.allowedOrigins) {
            return refusal.response
        }
        let identity: ContactIdentity
        do {
            identity = try ContactIdentity.read(from: request, params: config.identityParams)
        } catch {
            if error.code == .identityParamRepeated { service.reportRepeatedParam(error) }
            return error.response
        }
        // Masking costs a few allocations; only the info-level request line uses it.
        if service.log.enabled(.info) { trace.identity = identity.masked }

        let now = MonotonicClock.nowMs()
        var key: IdentityKey?
        if service.cache != nil || service.limiter != nil {
            key = keyer.key(for: identity)
            // Without a key this request skips the cache and the limiter: filing it under any
            // shared key could hand it another user's token.
            if key == nil { service.reportKeyFailure() }
        }
        if let limiter = service.limiter, let key, let retryAfter = limiter.admit(key, nowMs: now) {
            counters.count(\.rateLimited)
            return APIError.rateLimited(retryAfter: retryAfter).response
        }
        if let cache = service.cache, let key {
            // fresh=1: the eSputnik script found its token invalid; fetch and replace it.
            if RequestTarget.query(of: request)["fresh"] != "1", let token = cache.lookup(key, nowMs: now) {
                counters.count(\.cacheHits)
                return .json(TokenAnswer.body(token))
            }
            counters.count(\.cacheMisses)
        }

        refreshExchange()
        let exchange = tokenExchange
        let (outcome, shared) = service.flights.run(identity) {
            service.guardedExchange(identity, key: key, with: exchange, counters: counters)
        }
        trace.upstreamStatus = outcome.upstreamStatus
        trace.coalesced = shared
        switch outcome.result {
        case .success(let token):
            return .json(TokenAnswer.body(token))
        case .failure(let error):
            return error.response
        }
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
