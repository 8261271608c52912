import Testing

@testable import AppInbox

private let identity = ContactIdentity(email: "alice@example.com")
private func ok(_ token: String) -> UpstreamAttempt { Fixture.ok(token) }
private func status(_ code: Int, retryAfter: Int? = nil) -> UpstreamAttempt { Fixture.status(code, retryAfter: retryAfter) }

/// Runs one exchange against a scripted eSputnik on a virtual clock; `elapsedMs` is virtual.
private func run(
    _ script: [ScriptedUpstream.Step], timeoutMs: Int
) -> (
    outcome: ExchangeOutcome, elapsedMs: Double, calls: [ScriptedUpstream.Call]
) {
    let clock = VirtualClock()
    let upstream = ScriptedUpstream(script, clock: clock)
    let exchange = TokenExchange(
        transport: upstream.transport(UpstreamSettings(config: try! Fixture.config())), timeoutMs: timeoutMs, log: Log(level: .error),
        clock: PipelineClock(now: clock.now))
    // The script answers on the calling thread, so the outcome is there when exchange returns.
    let outcome = Locked<ExchangeOutcome?>(nil)
    exchange.exchange(identity) { result in outcome.withLock { $0 = result } }
    return (outcome.withLock { $0! }, clock.now(), upstream.calls)
}

/// The retry policy as a table: attempts × times × verdict → step. No clock, no sleep.
@Suite("RetrySchedule")
struct RetryScheduleTests {
    @Test func theFirstAttemptGetsTheWholeDeadline() {
        var schedule = RetrySchedule(startMs: 1_000, timeoutMs: 2_000)
        #expect(schedule.send(nowMs: 1_000) == .send(timeoutMs: 2_000))
        #expect(schedule.attempts == 1)
    }

    @Test(arguments: [
        // (now, expected timeout): rounded up, never below 1 ms (curl reads 0 as no limit).
        (1_000.0, 2_000), (1_500.4, 1_500), (2_999.5, 1), (3_000.0, 1), (9_000.0, 1),
    ])
    func eachAttemptGetsWhatIsLeft(_ nowMs: Double, _ timeoutMs: Int) {
        var schedule = RetrySchedule(startMs: 1_000, timeoutMs: 2_000)
        #expect(schedule.send(nowMs: nowMs) == .send(timeoutMs: timeoutMs))
    }

    @Test(
        arguments: [
            (ok("t"), RetrySchedule.Step.finish(ExchangeOutcome(result: .success("t"), upstreamStatus: 200, attempts: 1))),
            (ok(""), .finish(ExchangeOutcome(result: .success(""), upstreamStatus: 200, attempts: 1))),
            (status(400), .finish(ExchangeOutcome(result: .failure(.rejected), upstreamStatus: 400, attempts: 1))),
            (status(401), .finish(ExchangeOutcome(result: .failure(.refusedKey), upstreamStatus: 401, attempts: 1))),
            (status(403), .finish(ExchangeOutcome(result: .failure(.refusedKey), upstreamStatus: 403, attempts: 1))),
            (
                status(429, retryAfter: 7),
                .finish(ExchangeOutcome(result: .failure(.throttled(retryAfter: 7)), upstreamStatus: 429, attempts: 1))
            ),
            (status(404), .finish(ExchangeOutcome(result: .failure(.badResponse), upstreamStatus: 404, attempts: 1))),
            (.bodyTooLarge, .finish(ExchangeOutcome(result: .failure(.badResponse), upstreamStatus: nil, attempts: 1))),
            (.failed("TLS"), .finish(ExchangeOutcome(result: .failure(.unavailable), upstreamStatus: nil, attempts: 1))),
            (status(500), .pause(ms: 25)), (status(503), .pause(ms: 25)), (.timedOut, .pause(ms: 25)),
            (.connectionFailed("reset"), .pause(ms: 25)),
        ] as [(UpstreamAttempt, RetrySchedule.Step)])
    func whatEachAttemptLeadsTo(_ attempt: UpstreamAttempt, _ step: RetrySchedule.Step) {
        var schedule = RetrySchedule(startMs: 0, timeoutMs: 2_000)
        _ = schedule.send(nowMs: 0)
        #expect(schedule.next(after: attempt, nowMs: 10, jitter: 0) == step)
    }

    @Test func retriesStopAfterFourAttempts() {
        var schedule = RetrySchedule(startMs: 0, timeoutMs: 60_000)
        var now = 0.0
        var steps: [RetrySchedule.Step] = []
        for _ in 1...4 {
            _ = schedule.send(nowMs: now)
            let step = schedule.next(after: status(500), nowMs: now, jitter: 1)
            steps.append(step)
            if case .pause(let ms) = step { now += ms }
        }
        #expect(
            steps == [
                .pause(ms: 50), .pause(ms: 100), .pause(ms: 200),
                .finish(ExchangeOutcome(result: .failure(.unavailable), upstreamStatus: 500, attempts: 4)),
            ])
    }

    @Test(arguments: [
        // (time of the failure, deadline at 300 ms, jitter 0 → a 25 ms pause): a retry needs the
        // pause plus 50 ms left; with 1 ms or less left the answer is a timeout.
        (200.0, RetrySchedule.Step.pause(ms: 25)),
        (225.0, .pause(ms: 25)),
        (225.5, .finish(ExchangeOutcome(result: .failure(.unavailable), upstreamStatus: 500, attempts: 1))),
        (299.0, .finish(ExchangeOutcome(result: .failure(.timedOut), upstreamStatus: 500, attempts: 1))),
        (400.0, .finish(ExchangeOutcome(result: .failure(.timedOut), upstreamStatus: 500, attempts: 1))),
    ])
    func noAttemptStartsThatCouldNotFinish(_ nowMs: Double, _ step: RetrySchedule.Step) {
        var schedule = RetrySchedule(startMs: 0, timeoutMs: 300)
        _ = schedule.send(nowMs: 0)
        #expect(schedule.next(after: status(500), nowMs: nowMs, jitter: 0) == step)
    }

    @Test(arguments: [
        (1, 0.0, 25.0), (1, 1.0, 50.0), (1, 0.5, 37.5), (2, 0.0, 50.0), (3, 1.0, 200.0), (7, 1.0, 3_200.0),
        (30, 1.0, 3_200.0), (1, -3.0, 25.0), (1, 9.0, 50.0),
    ])
    func backoffIsJitteredOverTheUpperHalfOfADoublingCap(_ attempt: Int, _ jitter: Double, _ ms: Double) {
        #expect(RetrySchedule.backoffMs(afterAttempt: attempt, jitter: jitter) == ms)
    }

    @Test func theLastStatusSurvivesAnAttemptWithoutOne() {
        var schedule = RetrySchedule(startMs: 0, timeoutMs: 1_000)
        _ = schedule.send(nowMs: 0)
        #expect(schedule.next(after: status(503), nowMs: 5, jitter: 0) == .pause(ms: 25))
        _ = schedule.send(nowMs: 30)
        #expect(
            schedule.next(after: .timedOut, nowMs: 999.5, jitter: 0)
                == .finish(ExchangeOutcome(result: .failure(.timedOut), upstreamStatus: 503, attempts: 2)))
    }
}

/// The driver: the schedule against a transport, on a virtual clock.
@Suite("TokenExchange")
struct TokenExchangeTests {
    @Test func successOnFirstTryIsOneAttempt() {
        let (outcome, _, calls) = run([.now(ok("tok-1"))], timeoutMs: 300)
        #expect(outcome == ExchangeOutcome(result: .success("tok-1"), upstreamStatus: 200, attempts: 1))
        #expect(calls.map(\.body) == [identity.upstreamBody])
    }

    @Test func serverErrorsAreRetriedUntilAToken() {
        let (outcome, elapsed, calls) = run([.now(status(500)), .now(status(500)), .now(ok("tok-3"))], timeoutMs: 1000)
        #expect(outcome == ExchangeOutcome(result: .success("tok-3"), upstreamStatus: 200, attempts: 3))
        #expect(calls.count == 3)
        #expect(calls.allSatisfy { $0.body == identity.upstreamBody })
        // Two pauses, each jittered within the upper half of its cap (50 ms, then 100 ms).
        #expect((25...50).contains(calls[1].atMs - calls[0].atMs))
        #expect((50...100).contains(calls[2].atMs - calls[1].atMs))
        #expect(elapsed <= 150)
    }

    @Test func serverErrorsForeverGiveUnavailableAfterFourAttempts() {
        let (outcome, elapsed, calls) = run([.now(status(500))], timeoutMs: 2000)
        #expect(outcome == ExchangeOutcome(result: .failure(.unavailable), upstreamStatus: 500, attempts: 4))
        #expect(calls.count == 4)
        #expect(elapsed < 2000)
    }

    @Test func hangingUpstreamTimesOutAtTheDeadline() {
        let (outcome, elapsed, calls) = run([.hang], timeoutMs: 200)
        #expect(outcome == ExchangeOutcome(result: .failure(.timedOut), upstreamStatus: nil, attempts: 1))
        #expect(outcome.result.failureValue?.apiError.status == 504)
        #expect(calls.map(\.timeoutMs) == [200])
        #expect(elapsed == 200)
    }

    @Test func slowServerErrorsEndWithinTheDeadline() {
        let (outcome, elapsed, calls) = run([.after(ms: 120, status(500))], timeoutMs: 300)
        #expect(outcome.result == .failure(.unavailable) || outcome.result == .failure(.timedOut))
        #expect(elapsed <= 300)
        // Each attempt's timeout is what was left when it started.
        for call in calls { #expect(Double(call.timeoutMs) == (300 - call.atMs).rounded(.up)) }
    }

    @Test func lastStatusIsKeptWhenALaterAttemptHasNone() {
        let (outcome, elapsed, _) = run([.now(status(503)), .hang], timeoutMs: 200)
        #expect(outcome.result == .failure(.timedOut))
        #expect(outcome.upstreamStatus == 503)
        // The second attempt's timeout is what was left, rounded up to a whole millisecond.
        #expect((200...201).contains(elapsed))
    }

    @Test(arguments: [401, 403])
    func aRefusedKeyIsNotRetried(_ code: Int) {
        let (outcome, _, calls) = run([.now(status(code)), .now(ok("never"))], timeoutMs: 1000)
        #expect(outcome == ExchangeOutcome(result: .failure(.refusedKey), upstreamStatus: code, attempts: 1))
        #expect(calls.count == 1)
    }
}

extension Result {
    fileprivate var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
