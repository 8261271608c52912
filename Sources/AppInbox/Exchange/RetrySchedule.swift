/// The retry policy of one exchange as a state machine: it is told what each attempt produced
/// and what time it is, and answers what to do next. No clock, no sleep, no log, so its tests
/// are tables; `TokenExchange` drives it against the real transport and clock.
///
/// Policy: retry 5xx answers and broken connections with jittered exponential backoff while
/// the one deadline allows, at most `maxAttempts` times, and never start an attempt that has
/// less than `minAttemptMs` left.
struct RetrySchedule {
    enum Step: Equatable {
        /// Send an attempt that may take at most this long.
        case send(timeoutMs: Int)
        /// Wait this long, then call `send(nowMs:)`.
        case pause(ms: Double)
        /// Done: answer this.
        case finish(ExchangeOutcome)
    }

    /// At most this many attempts, however much time remains: a failing eSputnik is not helped
    /// by a storm of retries from every site's workers.
    static let maxAttempts = 4
    /// An attempt with less time than this left is not started: it could not complete.
    static let minAttemptMs = 50.0

    /// When the whole exchange, retries included, must be over.
    let deadlineMs: Double
    private(set) var attempts = 0
    private var lastStatus: Int?

    init(startMs: Double, timeoutMs: Int) {
        deadlineMs = startMs + Double(timeoutMs)
    }

    /// Starts the next attempt with whatever time is left (at least 1 ms: curl reads 0 as none).
    mutating func send(nowMs: Double) -> Step {
        attempts += 1
        return .send(timeoutMs: max(1, Int((deadlineMs - nowMs).rounded(.up))))
    }

    /// What to do after an attempt; `jitter` is uniform in 0...1.
    mutating func next(after attempt: UpstreamAttempt, nowMs: Double, jitter: Double) -> Step {
        lastStatus = attempt.status ?? lastStatus
        switch attempt.verdict {
        case .token(let token):
            return finish(.success(token))
        case .fail(let failure):
            return finish(.failure(failure))
        case .retry(let failure):
            let left = deadlineMs - nowMs
            if left <= 1 { return finish(.failure(.timedOut)) }
            let pause = Self.backoffMs(afterAttempt: attempts, jitter: jitter)
            guard attempts < Self.maxAttempts, left - pause >= Self.minAttemptMs else { return finish(.failure(failure)) }
            return .pause(ms: pause)
        }
    }

    /// Full jitter over the upper half of an exponential cap (50, 100, 200 ms …), so that
    /// workers that failed together do not retry together.
    static func backoffMs(afterAttempt attempt: Int, jitter: Double) -> Double {
        let cap = 50.0 * Double(1 << min(attempt - 1, 6))
        return cap / 2 + cap / 2 * min(max(jitter, 0), 1)
    }

    private func finish(_ result: Result<String, UpstreamFailure>) -> Step {
        .finish(ExchangeOutcome(result: result, upstreamStatus: lastStatus, attempts: attempts))
    }
}
