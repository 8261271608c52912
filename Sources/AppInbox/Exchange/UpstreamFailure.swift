/// Why an exchange with eSputnik produced no token. Each case says once whether it opens the
/// circuit breaker, how `status` counts it and what the browser is told.
public enum UpstreamFailure: Error, Sendable, Equatable {
    /// A 5xx, a broken connection or a failed TLS handshake: eSputnik is down or unreachable.
    case unavailable
    /// A 429: eSputnik is pacing this account, not failing.
    case throttled(retryAfter: Int?)
    /// No full answer within the deadline.
    case timedOut
    /// An answer that is not a token (another status, no `token`, too large).
    case badResponse
    /// eSputnik refused the request itself (its 400).
    case rejected
    /// eSputnik refused the API key (its 401/403).
    case refusedKey
    /// Not attempted: the upstream cap or the open circuit breaker held the call back.
    case heldBack(retryAfter: Int)

    /// Whether this says eSputnik is down, slow or garbled: what opens the breaker. A refused key
    /// or request is the site's problem, and a 429 is eSputnik pacing us.
    public var opensBreaker: Bool {
        switch self {
        case .unavailable, .timedOut, .badResponse: true
        case .throttled, .rejected, .refusedKey, .heldBack: false
        }
    }

    /// The label under which `status` counts an upstream call that ended this way.
    public var metricLabel: String {
        switch self {
        case .throttled: "throttled"
        case .heldBack: "held_back"
        default: apiError.code.rawValue
        }
    }

    /// What the browser is told: the one mapping from upstream trouble to our error codes.
    public var apiError: APIError {
        switch self {
        case .unavailable: .upstreamUnavailable()
        case .throttled(let retryAfter): .upstreamUnavailable(retryAfter: retryAfter)
        case .timedOut: .upstreamTimeout
        case .badResponse: .badUpstreamResponse
        case .rejected: .upstreamRejected
        case .refusedKey: .upstreamAuthFailed
        case .heldBack(let retryAfter): .upstreamUnavailable(retryAfter: retryAfter)
        }
    }
}
