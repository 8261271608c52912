/// The result of exchanging one identity for a token, as every coalesced request receives it.
public struct ExchangeOutcome: Sendable, Equatable {
    /// The token (empty when eSputnik knows no such contact), or the error to answer.
    public var result: Result<String, APIError>
    /// The last upstream HTTP status seen, for the request log.
    public var upstreamStatus: Int?
    /// How many HTTP attempts were made.
    public var attempts: Int
}

/// Exchanges an identity for a token within one deadline, retrying 5xx answers and broken
/// connections with jittered exponential backoff while time remains.
public struct TokenExchange<Transport: UpstreamTransport> {
    /// Sends the requests.
    public let transport: Transport
    /// The whole exchange's deadline, retries included.
    public let timeoutMs: Int
    /// Where upstream trouble is reported.
    public let log: Log

    /// At most this many attempts, however much time remains: a failing eSputnik is not helped
    /// by a storm of retries from every site's workers.
    static var maxAttempts: Int { 4 }
    /// An attempt with less time than this left is not started: it could not complete.
    static var minAttemptMs: Double { 50 }

    /// Creates an exchange over a transport.
    public init(transport: Transport, timeoutMs: Int, log: Log) {
        self.transport = transport
        self.timeoutMs = timeoutMs
        self.log = log
    }

    /// Runs the exchange for one identity.
    public func exchange(_ identity: ContactIdentity) -> ExchangeOutcome {
        let body = identity.upstreamBody
        let deadline = MonotonicClock.nowMs() + Double(timeoutMs)
        var attempts = 0
        var lastStatus: Int?
        while true {
            attempts += 1
            let remaining = deadline - MonotonicClock.nowMs()
            let attempt = transport.post(body, timeoutMs: max(1, Int(remaining.rounded(.up))))
            lastStatus = attempt.status ?? lastStatus
            switch attempt.verdict {
            case .token(let token):
                return ExchangeOutcome(result: .success(token), upstreamStatus: lastStatus, attempts: attempts)
            case .fail(let error):
                report(attempt, error: error, identity: identity)
                return ExchangeOutcome(result: .failure(error), upstreamStatus: lastStatus, attempts: attempts)
            case .retry(let error):
                let left = deadline - MonotonicClock.nowMs()
                let pause = Self.backoffMs(afterAttempt: attempts)
                if left <= 1 {
                    report(attempt, error: .upstreamTimeout, identity: identity)
                    return ExchangeOutcome(result: .failure(.upstreamTimeout), upstreamStatus: lastStatus, attempts: attempts)
                }
                guard attempts < Self.maxAttempts, left - pause >= Self.minAttemptMs else {
                    report(attempt, error: error, identity: identity)
                    return ExchangeOutcome(result: .failure(error), upstreamStatus: lastStatus, attempts: attempts)
                }
                log.debug("upstream_retry", ["attempt": String(attempts), "reason": Self.describe(attempt), "pause_ms": String(Int(pause))])
                MonotonicClock.sleep(ms: pause)
            }
        }
    }

    /// Full jitter over an exponential cap (50, 100, 200 ms …), so that workers that failed
    /// together do not retry together.
    static func backoffMs(afterAttempt attempt: Int) -> Double {
        let cap = 50.0 * Double(1 << min(attempt - 1, 6))
        return Double.random(in: cap / 2...cap)
    }

    private func report(_ attempt: UpstreamAttempt, error: APIError, identity: ContactIdentity) {
        // A refused key is reported by the service, once per interval rather than per request.
        guard error.code != .upstreamAuthFailed else { return }
        log.warn("upstream_failed", ["error": error.code.rawValue, "reason": Self.describe(attempt), "identity": identity.masked])
    }

    static func describe(_ attempt: UpstreamAttempt) -> String {
        switch attempt {
        case .answered(let status, _, _): "http \(status)"
        case .timedOut: "timeout"
        case .connectionFailed(let detail): "connection: \(detail)"
        case .bodyTooLarge: "body over \(UpstreamAttempt.maxBodyBytes) bytes"
        case .failed(let detail): detail
        }
    }
}
