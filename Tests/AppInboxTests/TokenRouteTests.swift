import Glibc
import Testing

@testable import AppInbox

private func ok(_ token: String) -> ScriptedUpstream.Step { .now(Fixture.ok(token)) }
private func status(_ code: Int, retryAfter: Int? = nil) -> ScriptedUpstream.Step {
    .now(Fixture.status(code, retryAfter: retryAfter))
}

/// The token route's compositions, in-process: origin → identity → rate limit → cache → single
/// flight → cap → breaker → exchange → cache → answer, against a scripted eSputnik.
@Suite("Token route")
struct TokenRouteTests {
    @Test func aSignedInUserGetsTheirToken() throws {
        let app = try TestApp(upstream: [ok("tok-alice")])
        let answer = app.token("alice@example.com")
        #expect(answer.status == 200)
        #expect(answer.token == "tok-alice")
        #expect(answer.header("Cache-Control")?.contains("no-store") == true)
        #expect(app.upstream.calls.map(\.body) == [ContactIdentity(email: "alice@example.com").upstreamBody])
        #expect(app.upstream.calls.map(\.apiKey) == [Fixture.apiKey])
    }

    @Test func refusalsNeverReachESputnik() throws {
        let app = try TestApp()
        #expect(app.get("/app-inbox/token").error == "unauthenticated")
        #expect(app.token("not-an-email").error == "invalid_identity")
        #expect(app.token("alice@example.com", headers: ["Sec-Fetch-Site": "cross-site"]).error == "cross_site")
        let repeated = app.worker.respond(
            to: Request(orderedParams: [
                ("REQUEST_URI", "/app-inbox/token"), ("INBOX_EMAIL", "alice@example.com"), ("INBOX_EMAIL", "eve@example.com"),
            ]))
        #expect(repeated.status == 500)
        #expect(app.upstream.calls.isEmpty)
    }

    @Test func withoutTheCacheEveryRequestAsksESputnik() throws {
        let app = try TestApp(upstream: [ok("t1"), ok("t2")])
        #expect(app.token("alice@example.com").token == "t1")
        #expect(app.token("alice@example.com").token == "t2")
        #expect(app.upstream.calls.count == 2)
    }

    @Test func theCacheAnswersRepeatsAndFreshReplaces() throws {
        let app = try TestApp(["APP_INBOX_CACHE_TTL_S": "60"], upstream: [ok("t1"), ok("t2")])
        #expect(app.token("alice@example.com").token == "t1")
        #expect(app.token("alice@example.com").token == "t1")
        #expect(app.upstream.calls.count == 1)
        // The eSputnik script found t1 invalid: fetch a new one and keep it.
        #expect(app.token("alice@example.com", query: "fresh=1").token == "t2")
        #expect(app.token("alice@example.com").token == "t2")
        #expect(app.upstream.calls.count == 2)
        let cache = app.status["cache"]
        #expect(cache?["hits"] == .number(2))
        #expect(cache?["misses"] == .number(2))
    }

    @Test func theCacheKeepsUsersApartByBytes() throws {
        // "é" precomposed and decomposed are one String to Swift and two contacts to eSputnik.
        let app = try TestApp(["APP_INBOX_CACHE_TTL_S": "60"], upstream: [ok("t-nfc"), ok("t-nfd"), ok("t-bob")])
        #expect(app.token("caf\u{E9}@example.com").token == "t-nfc")
        #expect(app.token("cafe\u{301}@example.com").token == "t-nfd")
        #expect(app.token("bob@example.com").token == "t-bob")
        #expect(app.token("caf\u{E9}@example.com").token == "t-nfc")
        #expect(app.token("cafe\u{301}@example.com").token == "t-nfd")
        #expect(app.upstream.calls.count == 3)
    }

    @Test func failuresAreNotCached() throws {
        let app = try TestApp(["APP_INBOX_CACHE_TTL_S": "60"], upstream: [status(400), ok("t1")])
        #expect(app.token("alice@example.com").error == "upstream_rejected")
        #expect(app.token("alice@example.com").token == "t1")
        #expect(app.upstream.calls.count == 2)
    }

    @Test func anUnknownContactIsCachedForTheNegativeTTL() throws {
        let app = try TestApp(["APP_INBOX_CACHE_TTL_S": "60", "APP_INBOX_NEGATIVE_TTL_S": "30"], upstream: [ok("")])
        #expect(app.token("ghost@example.com").token == "")
        #expect(app.token("ghost@example.com").token == "")
        #expect(app.upstream.calls.count == 1)
    }

    @Test func theRateLimitComesBeforeTheCache() throws {
        let app = try TestApp(["APP_INBOX_CACHE_TTL_S": "60", "APP_INBOX_RATE_LIMIT_PER_MIN": "2"], upstream: [ok("t1")])
        var statuses: [Int] = []
        for _ in 1...4 { statuses.append(app.token("alice@example.com").status) }
        #expect(statuses.filter { $0 == 429 }.count >= 1)
        let limited = app.token("alice@example.com")
        #expect(limited.status == 429)
        #expect(limited.error == "rate_limited")
        #expect(Int(limited.header("Retry-After") ?? "") ?? 0 >= 1)
        // Another user is not held back by alice's bucket.
        #expect(app.token("bob@example.com").status == 200)
        #expect(app.status["rate_limited"] == .number(Double(statuses.filter { $0 == 429 }.count + 1)))
    }

    @Test func theBreakerOpensOnFailuresAndRefusesWithoutCalling() throws {
        let app = try TestApp(
            ["APP_INBOX_BREAKER_FAILURES": "2", "APP_INBOX_BREAKER_COOLDOWN_S": "30", "APP_INBOX_HEALTH_STRICT": "1"],
            upstream: [status(502)], clock: VirtualClock())
        #expect(app.get("/app-inbox/healthz").status == 200)
        #expect(app.token("alice@example.com").error == "upstream_unavailable")
        #expect(app.token("bob@example.com").error == "upstream_unavailable")
        let callsWhenOpened = app.upstream.calls.count
        let refused = app.token("carol@example.com")
        #expect(refused.status == 503)
        #expect(Int(refused.header("Retry-After") ?? "") ?? 0 >= 29)
        #expect(app.upstream.calls.count == callsWhenOpened)
        #expect(app.get("/app-inbox/healthz").status == 503)
        #expect(app.status["breaker"]?["state"] == .string("open"))
        #expect(app.status["breaker"]?["rejected"] == .number(1))
    }

    @Test func afterTheCooldownOneProbeClosesTheBreaker() throws {
        let clock = VirtualClock()
        let app = try TestApp(
            ["APP_INBOX_BREAKER_FAILURES": "1", "APP_INBOX_BREAKER_COOLDOWN_S": "10"], upstream: [status(404), ok("back")],
            clock: clock)
        // A garbled answer (not retried) opens the breaker.
        #expect(app.token("alice@example.com").error == "bad_upstream_response")
        clock.advance(9_000)
        #expect(app.token("alice@example.com").status == 503)
        #expect(app.upstream.calls.count == 1)
        clock.advance(1_000)
        #expect(app.token("alice@example.com").token == "back")
        #expect(app.status["breaker"]?["state"] == .string("closed"))
        #expect(app.token("bob@example.com").status == 200)
    }

    @Test func aProbeHeldBackByTheCapLeavesTheBreakerReadyForTheNext() throws {
        // docs/PITFALLS.md #23: the cap is asked first, so a refused call never takes the probe.
        let clock = VirtualClock()
        let app = try TestApp(
            ["APP_INBOX_BREAKER_FAILURES": "1", "APP_INBOX_BREAKER_COOLDOWN_S": "10", "APP_INBOX_MAX_UPSTREAM": "1"],
            upstream: [status(404), .held(Fixture.ok("slow")), ok("probe")], clock: clock)
        #expect(app.token("alice@example.com").error == "bad_upstream_response")
        clock.advance(10_000)
        // Bob's call is the probe and takes the only upstream slot until released.
        let bob = TestThread { _ = app.token("bob@example.com", on: try! app.makeWorker()) }
        #expect(waitUntil(ms: 5_000) { app.upstream.calls.count == 2 })
        #expect(app.token("carol@example.com").header("Retry-After") == "1")
        app.upstream.release()
        bob.join()
        #expect(app.status["breaker"]?["state"] == .string("closed"))
        #expect(app.token("carol@example.com").token == "probe")
    }

    @Test func cachedTokensExpireAfterTheTTL() throws {
        let clock = VirtualClock()
        let app = try TestApp(["APP_INBOX_CACHE_TTL_S": "60"], upstream: [ok("t1"), ok("t2")], clock: clock)
        #expect(app.token("alice@example.com").token == "t1")
        clock.advance(59_000)
        #expect(app.token("alice@example.com").token == "t1")
        clock.advance(2_000)
        #expect(app.token("alice@example.com").token == "t2")
        #expect(app.upstream.calls.count == 2)
    }

    @Test func theRateLimitRefillsOverTheMinute() throws {
        let clock = VirtualClock()
        let app = try TestApp(["APP_INBOX_RATE_LIMIT_PER_MIN": "1"], clock: clock)
        #expect(app.token("alice@example.com").status == 200)
        let limited = app.token("alice@example.com")
        #expect(limited.status == 429)
        clock.advance(Double(Int(limited.header("Retry-After") ?? "") ?? 0) * 1000)
        #expect(app.token("alice@example.com").status == 200)
    }

    @Test(arguments: [
        (status(429, retryAfter: 9), "upstream_unavailable", "throttled"),
        (status(401), "upstream_auth_failed", "upstream_auth_failed"),
        (status(400), "upstream_rejected", "upstream_rejected"),
    ])
    func answersThatSayESputnikWorksKeepTheBreakerClosed(
        _ step: ScriptedUpstream.Step, _ code: String, _ label: String
    )
        throws
    {
        let app = try TestApp(["APP_INBOX_BREAKER_FAILURES": "1"], upstream: [step])
        for _ in 1...3 { #expect(app.token("alice@example.com").error == code) }
        #expect(app.upstream.calls.count == 3)
        #expect(app.status["breaker"]?["state"] == .string("closed"))
        #expect(app.status["upstream"]?["calls"]?[label] == .number(3))
    }

    @Test func aRetriedServerErrorEndsInOneAnswer() throws {
        let app = try TestApp(upstream: [status(503), status(500), ok("t3")], clock: VirtualClock())
        let answer = app.token("alice@example.com")
        #expect(answer.token == "t3")
        #expect(app.upstream.calls.count == 3)
        #expect(app.status["upstream"]?["calls"]?["token"] == .number(1))
    }

    @Test func concurrentRequestsForOneUserMakeOneCall() throws {
        let app = try TestApp(upstream: [.held(Fixture.ok("shared"))])
        let answers = Locked<[String?]>([])
        let threads = (0..<4).map { _ in
            TestThread {
                let token = app.token("alice@example.com", on: try! app.makeWorker()).token
                answers.withLock { $0.append(token) }
            }
        }
        // One leader in eSputnik, three followers waiting for its answer; then let it answer.
        #expect(waitUntil(ms: 5_000) { app.upstream.calls.count == 1 && app.service.guards.flights.followers(of: alice) == 3 })
        app.upstream.release()
        for thread in threads { thread.join() }
        #expect(answers.withLock { $0 } == ["shared", "shared", "shared", "shared"])
        #expect(app.upstream.calls.count == 1)
        #expect(app.status["coalesced"] == .number(3))
    }

    @Test func aRequestSentTheMomentTheLastAnswerArrivesStartsANewCall() throws {
        // The browser may ask again as soon as it has its answer (the eSputnik script found the
        // token invalid): that request must not join the call that produced the old token.
        let app = try TestApp(upstream: [.held(Fixture.ok("old")), ok("new")])
        let request = { @Sendable in Fixture.request(method: "GET", "/app-inbox/token", params: ["INBOX_EMAIL": "alice@example.com"]) }
        guard case .later(let first) = app.worker.reply(to: request()) else {
            Issue.record("a held call was answered at once")
            return
        }
        let next = Locked<Reply?>(nil)
        first.attach { _ in
            let worker = try! app.makeWorker()
            next.withLock { $0 = worker.reply(to: request()) }
        }
        app.upstream.release()
        let second = try #require(next.withLock { $0 })
        #expect(TestApp.Answer(TestApp.settle(second)).token == "new")
        #expect(app.upstream.calls.count == 2)
        #expect(app.status["coalesced"] == .number(0))
    }

    @Test func aRequestWaitingForESputnikHoldsNoWorker() throws {
        let app = try TestApp(upstream: [.held(Fixture.ok("slow"))])
        let request = Fixture.request(method: "GET", "/app-inbox/token", params: ["INBOX_EMAIL": "alice@example.com"])
        let reply = app.worker.reply(to: request)
        guard case .later = reply else {
            Issue.record("a token that waits for eSputnik was answered at once")
            return
        }
        // The same worker, on the same thread, answers others meanwhile.
        #expect(app.get("/app-inbox/healthz").status == 200)
        #expect(app.status["workers"]?["busy"] == .number(1))  // the status request itself
        app.upstream.release()
        #expect(TestApp.Answer(TestApp.settle(reply)).token == "slow")
    }

    @Test func theCapHoldsBackCallsBeyondIt() throws {
        let app = try TestApp(["APP_INBOX_MAX_UPSTREAM": "1"], upstream: [.held(Fixture.ok("slow"))])
        let first = TestThread { _ = app.token("alice@example.com", on: try! app.makeWorker()) }
        #expect(waitUntil(ms: 5_000) { app.upstream.calls.count == 1 })
        let refused = app.token("bob@example.com")
        #expect(refused.status == 503)
        #expect(refused.header("Retry-After") == "1")
        app.upstream.release()
        first.join()
        #expect(app.upstream.calls.count == 1)
        #expect(app.status["upstream"]?["rejected_at_capacity"] == .number(1))
    }

    @Test func aReloadRotatesTheKeyForTheNextCall() throws {
        let app = try TestApp(["APP_INBOX_CACHE_TTL_S": "60"], upstream: [ok("t1"), ok("t2")])
        #expect(app.token("alice@example.com").token == "t1")
        let rotated = try app.config(["APP_INBOX_API_KEY": "sk-rotated-9876543210"])
        #expect(app.service.reload(rotated).isEmpty)
        // The cache survives a key rotation; a new user's call goes out with the new key.
        #expect(app.token("alice@example.com").token == "t1")
        #expect(app.token("bob@example.com").token == "t2")
        #expect(app.upstream.calls.map(\.apiKey) == [Fixture.apiKey, "sk-rotated-9876543210"])
    }

    @Test func statusShowsTheLimitsInForce() throws {
        let app = try TestApp(["APP_INBOX_IDLE_TIMEOUT_S": "7", "APP_INBOX_THREADS": "8", "APP_INBOX_RATE_LIMIT_PER_MIN": "30"])
        let limits = app.status["limits"]
        #expect(limits?["idle_timeout_s"] == .number(7))
        // Calls wait in the event loop, not in threads: the caps do not depend on the thread count.
        #expect(limits?["max_upstream"] == .number(1024))
        #expect(limits?["max_upstream_while_stalled"] == .number(64))
        #expect(limits?["rate_limit_per_min"] == .number(30))
        #expect(limits?["max_body_bytes"] == .number(Double(Request.maxBodyBytes)))
    }

    @Test func aReloadNamesWhatNeedsARestart() throws {
        let app = try TestApp()
        let changed = try app.config(["APP_INBOX_CACHE_TTL_S": "60", "APP_INBOX_TIMEOUT_MS": "900"])
        #expect(app.service.reload(changed) == ["APP_INBOX_CACHE_TTL_S"])
    }
}

private let alice = ContactIdentity(email: "alice@example.com")
