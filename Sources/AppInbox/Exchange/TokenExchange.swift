/// Exchanges an identity for a token within one deadline: drives a `RetrySchedule` with the
/// transport's sends and pauses, and logs what went wrong. Nothing here blocks: each step runs
/// when the transport reports the last one.
public struct TokenExchange: Sendable {
    /// Sends the requests (curl in production, a script in tests).
    public let transport: any UpstreamTransport
    /// The whole exchange's deadline, retries included.
    public let timeoutMs: Int
    /// Where upstream trouble is reported.
    public let log: Log
    /// The time.
    let clock: PipelineClock

    /// Creates an exchange over a transport.
    public init(transport: any UpstreamTransport, timeoutMs: Int, log: Log, clock: PipelineClock = .monotonic) {
        self.transport = transport
        self.timeoutMs = timeoutMs
        self.log = log
        self.clock = clock
    }

    /// Runs the exchange for one identity; `done` receives the outcome once, on any thread.
    public func exchange(_ identity: ContactIdentity, done: @escaping @Sendable (ExchangeOutcome) -> Void) {
        let startMs = clock.now()
        let run = Run(exchange: self, identity: identity, schedule: RetrySchedule(startMs: startMs, timeoutMs: timeoutMs), done: done)
        run.perform(run.schedule.send(nowMs: startMs))
    }

    /// One exchange's state between its steps. Steps run one at a time (each is started by the
    /// end of the last), so the state needs no lock.
    private final class Run: @unchecked Sendable {
        let exchange: TokenExchange
        let identity: ContactIdentity
        let body: [UInt8]
        var schedule: RetrySchedule
        var last: UpstreamAttempt?
        let done: @Sendable (ExchangeOutcome) -> Void

        init(exchange: TokenExchange, identity: ContactIdentity, schedule: RetrySchedule, done: @escaping @Sendable (ExchangeOutcome) -> Void) {
            self.exchange = exchange
            self.identity = identity
            body = identity.upstreamBody
            self.schedule = schedule
            self.done = done
        }

        func perform(_ step: RetrySchedule.Step) {
            switch step {
            case .send(let timeoutMs):
                exchange.transport.post(body, timeoutMs: timeoutMs) { attempt in
                    self.last = attempt
                    self.perform(self.schedule.next(after: attempt, nowMs: self.exchange.clock.now(), jitter: Double.random(in: 0...1)))
                }
            case .pause(let ms):
                if let last {
                    exchange.log.debug(
                        "upstream_retry",
                        ["attempt": String(schedule.attempts), "reason": TokenExchange.describe(last), "pause_ms": String(Int(ms))])
                }
                exchange.transport.after(ms) {
                    self.perform(self.schedule.send(nowMs: self.exchange.clock.now()))
                }
            case .finish(let outcome):
                if let last, case .failure(let failure) = outcome.result { exchange.report(last, failure, identity) }
                done(outcome)
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
