/// Exchanges an identity for a token within one deadline: drives a `RetrySchedule` with the
/// transport, the clock and the sleeps, and logs what went wrong.
public struct TokenExchange {
    /// Sends the requests (curl in production, a script in tests).
    public let transport: any UpstreamTransport
    /// The whole exchange's deadline, retries included.
    public let timeoutMs: Int
    /// Where upstream trouble is reported.
    public let log: Log
    /// The time, and the pauses between attempts.
    let clock: PipelineClock

    /// Creates an exchange over a transport.
    public init(transport: any UpstreamTransport, timeoutMs: Int, log: Log, clock: PipelineClock = .monotonic) {
        self.transport = transport
        self.timeoutMs = timeoutMs
        self.log = log
        self.clock = clock
    }

    /// Runs the exchange for one identity.
    public func exchange(_ identity: ContactIdentity) -> ExchangeOutcome {
        let body = identity.upstreamBody
        let startMs = clock.now()
        var schedule = RetrySchedule(startMs: startMs, timeoutMs: timeoutMs)
        var step = schedule.send(nowMs: startMs)
        var last: UpstreamAttempt?
        while true {
            switch step {
            case .send(let timeoutMs):
                let attempt = transport.post(body, timeoutMs: timeoutMs)
                last = attempt
                step = schedule.next(after: attempt, nowMs: clock.now(), jitter: Double.random(in: 0...1))
            case .pause(let ms):
                if let last {
                    log.debug(
                        "upstream_retry",
                        ["attempt": String(schedule.attempts), "reason": Self.describe(last), "pause_ms": String(Int(ms))])
                }
                clock.pause(ms)
                step = schedule.send(nowMs: clock.now())
            case .finish(let outcome):
                if let last, case .failure(let failure) = outcome.result { report(last, failure, identity) }
                return outcome
            }
        }
    }

    private func report(_ attempt: UpstreamAttempt, _ failure: UpstreamFailure, _ identity: ContactIdentity) {
        // A refused key is reported by the token source, once per interval rather than per request.
        guard failure != .refusedKey else { return }
        log.warn(
            "upstream_failed",
            ["error": failure.apiError.code.rawValue, "reason": Self.describe(attempt), "identity": identity.masked])
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
