import Testing

@testable import AppInbox

/// A stand-in for eSputnik: returns scripted attempts in order (repeating the last one), records
/// every call, and can behave like a slow or hanging server, honouring the timeout like curl does.
final class ScriptedTransport: UpstreamTransport {
    enum Step {
        /// Answers at once.
        case now(UpstreamAttempt)
        /// Takes `ms` to produce the attempt; gives `.timedOut` after `timeoutMs` if that is shorter.
        case after(ms: Double, UpstreamAttempt)
        /// Never answers: the attempt times out after `timeoutMs`.
        case hang
    }

    struct Call {
        var body: [UInt8]
        var timeoutMs: Int
        var atMs: Double
    }

    private let script: [Step]
    private(set) var calls: [Call] = []

    init(_ script: [Step]) {
        precondition(!script.isEmpty)
        self.script = script
    }

    func post(_ body: [UInt8], timeoutMs: Int) -> UpstreamAttempt {
        calls.append(Call(body: body, timeoutMs: timeoutMs, atMs: MonotonicClock.nowMs()))
        switch script[min(calls.count - 1, script.count - 1)] {
        case .now(let attempt):
            return attempt
        case .after(let ms, let attempt):
            if Double(timeoutMs) < ms {
                MonotonicClock.sleep(ms: Double(timeoutMs))
                return .timedOut
            }
            MonotonicClock.sleep(ms: ms)
            return attempt
        case .hang:
            MonotonicClock.sleep(ms: Double(timeoutMs))
            return .timedOut
        }
    }
}

private func ok(_ token: String) -> UpstreamAttempt {
    .answered(status: 200, body: Array(#"{"token":"\#(token)"}"#.utf8), retryAfter: nil)
}

private func status(_ code: Int, retryAfter: Int? = nil) -> UpstreamAttempt {
    .answered(status: code, body: Array("error page".utf8), retryAfter: retryAfter)
}

private let identity = ContactIdentity(email: "alice@example.com")
private let quietLog = Log(level: .error)

/// Runs one exchange and measures how long it took.
private func run(_ transport: ScriptedTransport, timeoutMs: Int) -> (outcome: ExchangeOutcome, elapsedMs: Double, startMs: Double) {
    let exchange = TokenExchange(transport: transport, timeoutMs: timeoutMs, log: quietLog)
    let start = MonotonicClock.nowMs()
    let outcome = exchange.exchange(identity)
    return (outcome, MonotonicClock.nowMs() - start, start)
}

@Suite("TokenExchange")
struct TokenExchangeTests {
    @Test func successOnFirstTryIsOneAttempt() {
        let transport = ScriptedTransport([.now(ok("tok-1"))])
        let (outcome, _, _) = run(transport, timeoutMs: 300)
        #expect(outcome.result == .success("tok-1"))
        #expect(outcome.attempts == 1)
        #expect(outcome.upstreamStatus == 200)
        #expect(transport.calls.count == 1)
        #expect(transport.calls.first?.body == identity.upstreamBody)
    }

    @Test func emptyTokenIsASuccess() {
        let (outcome, _, _) = run(ScriptedTransport([.now(ok(""))]), timeoutMs: 300)
        #expect(outcome.result == .success(""))
    }

    @Test func serverErrorsAreRetriedUntilAToken() {
        let transport = ScriptedTransport([.now(status(500)), .now(status(500)), .now(ok("tok-3"))])
        let (outcome, elapsed, _) = run(transport, timeoutMs: 1000)
        #expect(outcome.result == .success("tok-3"))
        #expect(outcome.attempts == 3)
        #expect(outcome.upstreamStatus == 200)
        #expect(transport.calls.count == 3)
        #expect(transport.calls.allSatisfy { $0.body == identity.upstreamBody })
        #expect(elapsed < 1000)
    }

    @Test func connectionFailureIsRetried() {
        let transport = ScriptedTransport([.now(.connectionFailed("reset")), .now(ok("tok"))])
        let (outcome, _, _) = run(transport, timeoutMs: 1000)
        #expect(outcome.result == .success("tok"))
        #expect(outcome.attempts == 2)
    }

    @Test func retriesAreSpacedByABackoff() {
        let transport = ScriptedTransport([.now(status(503)), .now(ok("tok"))])
        _ = run(transport, timeoutMs: 1000)
        let gap = transport.calls[1].atMs - transport.calls[0].atMs
        #expect(gap >= 20, "retried after \(gap) ms")
    }

    @Test func serverErrorsForeverGiveUnavailableAfterAtMostFourAttempts() {
        let transport = ScriptedTransport([.now(status(500))])
        let (outcome, elapsed, _) = run(transport, timeoutMs: 2000)
        #expect(outcome.result == .failure(.upstreamUnavailable()))
        #expect(outcome.attempts == 4)
        #expect(transport.calls.count == 4)
        #expect(outcome.upstreamStatus == 500)
        #expect(elapsed < 2000)
    }

    @Test func serverErrorsForeverStayInsideAShortDeadline() {
        let transport = ScriptedTransport([.now(status(502))])
        let (outcome, elapsed, _) = run(transport, timeoutMs: 250)
        #expect(outcome.result == .failure(.upstreamUnavailable()))
        #expect((1...4).contains(transport.calls.count))
        #expect(elapsed <= 250 + 30, "took \(elapsed) ms")
    }

    @Test func hangingUpstreamGivesUpstreamTimeout() throws {
        let transport = ScriptedTransport([.hang])
        let (outcome, elapsed, _) = run(transport, timeoutMs: 200)
        #expect(outcome.result == .failure(.upstreamTimeout))
        let error = try #require(outcome.result.failure)
        #expect(error.status == 504)
        #expect(transport.calls.count == 1)
        #expect(transport.calls[0].timeoutMs <= 200)
        #expect(elapsed >= 190)
        #expect(elapsed <= 200 + 50, "took \(elapsed) ms")
    }

    @Test func quickTimeoutsForeverGiveUpstreamTimeout() {
        let transport = ScriptedTransport([.now(.timedOut)])
        let (outcome, _, _) = run(transport, timeoutMs: 300)
        #expect(outcome.result == .failure(.upstreamTimeout))
        #expect(transport.calls.count <= 4)
    }

    @Test func slowServerErrorsEndWithinTheDeadline() {
        let transport = ScriptedTransport([.after(ms: 120, status(500))])
        let (outcome, elapsed, _) = run(transport, timeoutMs: 300)
        let code = outcome.result.failure?.code
        #expect(code == .upstreamUnavailable || code == .upstreamTimeout)
        #expect(elapsed <= 300 + 40, "took \(elapsed) ms")
    }

    @Test(arguments: [401, 403])
    func authFailureIsNotRetried(_ code: Int) {
        let transport = ScriptedTransport([.now(status(code)), .now(ok("never"))])
        let (outcome, _, _) = run(transport, timeoutMs: 1000)
        #expect(outcome.result == .failure(.upstreamAuthFailed))
        #expect(outcome.attempts == 1)
        #expect(transport.calls.count == 1)
        #expect(outcome.upstreamStatus == code)
    }

    @Test func finalAnswersAreNotRetried() {
        let finals: [(UpstreamAttempt, APIError)] = [
            (status(400), .upstreamRejected), (status(429, retryAfter: 7), .upstreamUnavailable(retryAfter: 7)),
            (status(404), .badUpstreamResponse), (.answered(status: 200, body: Array("{}".utf8), retryAfter: nil), .badUpstreamResponse),
            (.bodyTooLarge, .badUpstreamResponse),
        ]
        for (attempt, expected) in finals {
            let transport = ScriptedTransport([.now(attempt), .now(ok("never"))])
            let (outcome, _, _) = run(transport, timeoutMs: 1000)
            #expect(outcome.result == .failure(expected))
            #expect(transport.calls.count == 1, "\(attempt)")
        }
    }

    @Test func transportTimeoutNeverExceedsTheRemainingDeadline() {
        let transport = ScriptedTransport([.after(ms: 60, status(500))])
        let (_, elapsed, _) = run(transport, timeoutMs: 400)
        #expect(transport.calls.count >= 2)
        // Each attempt's timeout shrinks by at least the time since the previous one. (Measured
        // between calls, not from the test's own start, which precedes the exchange's by however
        // long a loaded or sanitized machine takes to get there.) Rounding up allows 1 ms.
        for (previous, call) in zip(transport.calls, transport.calls.dropFirst()) {
            let allowed = Double(previous.timeoutMs) - (call.atMs - previous.atMs) + 1
            #expect(Double(call.timeoutMs) <= allowed, "gave \(call.timeoutMs) ms, at most \(allowed) ms left")
            #expect(call.timeoutMs >= 1)
        }
        #expect(transport.calls.first.map { (390...400).contains($0.timeoutMs) } == true)
        #expect(elapsed <= 400 + 40)
    }

    @Test func lastStatusIsKeptWhenALaterAttemptHasNone() {
        let transport = ScriptedTransport([.now(status(503)), .hang])
        let (outcome, _, _) = run(transport, timeoutMs: 200)
        #expect(outcome.result == .failure(.upstreamTimeout))
        #expect(outcome.upstreamStatus == 503)
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
