/// The result of exchanging one identity for a token, as every coalesced request receives it.
public struct ExchangeOutcome: Sendable, Equatable {
    /// The token (empty when eSputnik knows no such contact), or why there is none.
    public var result: Result<String, UpstreamFailure>
    /// The last upstream HTTP status seen, for the request log.
    public var upstreamStatus: Int?
    /// How many HTTP attempts were made.
    public var attempts: Int

    /// Creates an outcome.
    public init(result: Result<String, UpstreamFailure>, upstreamStatus: Int? = nil, attempts: Int = 0) {
        self.result = result
        self.upstreamStatus = upstreamStatus
        self.attempts = attempts
    }

    /// A call the cap or the breaker held back: nothing was sent.
    static func heldBack(retryAfter: Int) -> ExchangeOutcome {
        ExchangeOutcome(result: .failure(.heldBack(retryAfter: retryAfter)))
    }

    /// The label under which `status` counts this upstream call.
    var metricLabel: String {
        switch result {
        case .success(let token): token.isEmpty ? "unknown_contact" : "token"
        case .failure(let failure): failure.metricLabel
        }
    }

    /// Whether this result opens the circuit breaker (see `UpstreamFailure.opensBreaker`).
    var opensBreaker: Bool {
        if case .failure(let failure) = result { return failure.opensBreaker }
        return false
    }

    /// The answer for the browser.
    var response: Response {
        switch result {
        case .success(let token): .json(TokenAnswer.body(token))
        case .failure(let failure): failure.apiError.response
        }
    }
}
