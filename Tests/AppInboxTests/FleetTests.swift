import Testing

@testable import AppInbox

@Suite("RedisEndpoint.parse")
struct RedisEndpointTests {
    private func parsed(_ url: String) throws -> RedisEndpoint {
        try RedisEndpoint.parse(url).get()
    }

    private func refusal(_ url: String) -> String? {
        guard case .failure(let error) = RedisEndpoint.parse(url) else { return nil }
        return error.message
    }

    @Test func tcpWithDefaultsPortDatabaseAndPassword() throws {
        #expect(try parsed("redis://redis.internal") == RedisEndpoint(address: .tcp(host: "redis.internal", port: 6379)))
        let full = try parsed("redis://:s3cr@t@10.0.0.5:6380/2")
        #expect(full.address == .tcp(host: "10.0.0.5", port: 6380))
        #expect(full.user == nil && full.password == "s3cr@t" && full.database == 2)
        let acl = try parsed("redis://app:pw@127.0.0.1:6379/0")
        #expect(acl.user == "app" && acl.password == "pw")
        // redis-cli reads a lone userinfo as the password.
        #expect(try parsed("redis://pw@h").password == "pw")
        #expect(try parsed("redis://[::1]:7000").address == .tcp(host: "::1", port: 7000))
    }

    @Test func unixSocketWithDatabase() throws {
        let endpoint = try parsed("unix:///run/redis/redis.sock?db=3")
        #expect(endpoint.address == .unix(path: "/run/redis/redis.sock"))
        #expect(endpoint.database == 3)
        #expect(try parsed("unix://:pw@/tmp/r.sock").password == "pw")
    }

    @Test func refusesTLSOtherSchemesAndBadParts() {
        #expect(refusal("rediss://h:6380")?.contains("TLS") == true)
        #expect(refusal("http://h") != nil)
        #expect(refusal("redis://") != nil)
        #expect(refusal("redis://h:0") != nil)
        #expect(refusal("redis://h:70000") != nil)
        #expect(refusal("redis://h:port") != nil)
        #expect(refusal("redis://h/x") != nil)
        #expect(refusal("redis://h?timeout=1") != nil)
        #expect(refusal("unix://relative.sock") != nil)
        #expect(refusal("redis://h /0") != nil)
    }

    @Test func displayedHidesThePassword() throws {
        let shown = try parsed("redis://app:hunter2@h:1/4").displayed
        #expect(shown == "redis://app:***@h:1/4")
        #expect(!shown.contains("hunter2"))
        #expect(try parsed("unix:///s.sock?db=1").displayed == "unix:///s.sock?db=1")
    }
}

@Suite("Fleet mode's configuration")
struct FleetSettingsTests {
    private let secret = String(repeating: "k", count: 32)

    @Test func offByDefaultAndNothingRequired() throws {
        let config = try Fixture.load(Fixture.environment()).get()
        #expect(config.fleet.redis == nil)
        #expect(config.fleet.upstreamRPS == 150)
        #expect(config.fleet.redisTimeoutMs == 50)
    }

    @Test func redisNeedsTheSharedSecret() {
        let problems = Fixture.problems(Fixture.environment(["APP_INBOX_REDIS_URL": "redis://127.0.0.1"]))
        #expect(problems.map(\.variable) == ["APP_INBOX_CACHE_KEY_FILE"])
    }

    @Test func aShortSecretIsRefused() {
        let problems = Fixture.problems(
            Fixture.environment(["APP_INBOX_REDIS_URL": "redis://127.0.0.1", "APP_INBOX_CACHE_KEY_FILE": "/k"]),
            files: ["/k": "too short\n"])
        #expect(problems.map(\.variable) == ["APP_INBOX_CACHE_KEY_FILE"])
        #expect(problems.first?.message.contains("at least 32") == true)
    }

    @Test func aFullConfiguration() throws {
        let config = try Fixture.load(
            Fixture.environment([
                "APP_INBOX_REDIS_URL": "redis://:pw@10.1.2.3:6390/1", "APP_INBOX_CACHE_KEY_FILE": "/k",
                "APP_INBOX_REDIS_TIMEOUT_MS": "80", "APP_INBOX_UPSTREAM_RPS": "40",
            ]), files: ["/k": secret + "\n"]
        ).get()
        #expect(config.fleet.redis?.address == .tcp(host: "10.1.2.3", port: 6390))
        #expect(config.fleet.redisTimeoutMs == 80 && config.fleet.upstreamRPS == 40)
        #expect(config.fleet.secret != nil)
        let shown = config.summary.joined(separator: "\n")
        #expect(shown.contains("APP_INBOX_REDIS_URL=redis://:***@10.1.2.3:6390/1"))
        #expect(!shown.contains("pw@") && !shown.contains(secret))
    }

    @Test func rangesAreChecked() {
        let problems = Fixture.problems(
            Fixture.environment(["APP_INBOX_REDIS_TIMEOUT_MS": "0", "APP_INBOX_UPSTREAM_RPS": "-1"]))
        #expect(Set(problems.map(\.variable)) == ["APP_INBOX_REDIS_TIMEOUT_MS", "APP_INBOX_UPSTREAM_RPS"])
    }
}

@Suite("FleetSecret")
struct FleetSecretTests {
    private let secret = FleetSecret(secret: Array("a fleet's shared secret of 32+ bytes".utf8))!
    private let alice = Array(repeating: UInt8(1), count: 32)
    private let bob = Array(repeating: UInt8(2), count: 32)

    @Test func sealedValuesOpenOnlyUnderTheirOwnKey() throws {
        let sealed = try #require(secret.seal(Array("tsbx-token".utf8), boundTo: alice))
        #expect(secret.open(sealed, boundTo: alice) == Array("tsbx-token".utf8))
        // Copied to another user's key in Redis, it does not open: no token reaches the wrong user.
        #expect(secret.open(sealed, boundTo: bob) == nil)
        // Nor under another fleet's secret.
        let other = FleetSecret(secret: Array("another fleet's secret, 32 bytes!!".utf8))!
        #expect(other.open(sealed, boundTo: alice) == nil)
        // The token is not in the clear.
        #expect(!sealed.indices.contains { sealed[$0...].starts(with: Array("sbx-token".utf8)) })
    }

    @Test func anyChangedByteIsRefused() throws {
        let sealed = try #require(secret.seal(Array("tabc".utf8), boundTo: alice))
        for index in sealed.indices {
            var changed = sealed
            changed[index] ^= 0x01
            #expect(secret.open(changed, boundTo: alice) == nil)
        }
        #expect(secret.open(Array(sealed.prefix(27)), boundTo: alice) == nil)
        #expect(secret.open([], boundTo: alice) == nil)
    }

    @Test func sealingTwiceGivesDifferentBytes() throws {
        let one = try #require(secret.seal(Array("t".utf8), boundTo: alice))
        let two = try #require(secret.seal(Array("t".utf8), boundTo: alice))
        #expect(one != two)
    }

    @Test func derivedKeysDifferFromEachOtherAndFromTheSecret() {
        let raw = Array("a fleet's shared secret of 32+ bytes".utf8)
        #expect(secret.identityKey != secret.sealKey)
        #expect(secret.identityKey != raw && secret.sealKey != raw)
        #expect(secret.namespace.count == 16)
        #expect(FleetSecret(secret: raw)!.namespace == secret.namespace)
    }

    @Test func theIdentityKeyIsTheSameOnEveryHost() {
        let identity = ContactIdentity(email: "alice@example.com")
        let one = IdentityHasher(secret: secret.identityKey).key(for: identity)
        let two = IdentityHasher(secret: FleetSecret(secret: Array("a fleet's shared secret of 32+ bytes".utf8))!.identityKey)
            .key(for: identity)
        #expect(one != nil && one == two)
        #expect(one?.digest.bytes.count == 32)
        #expect(one.map { Digest256(bytes: $0.digest.bytes) } == one?.digest)
    }
}

@Suite("FleetOutcome")
struct FleetOutcomeTests {
    @Test func everyOutcomeSurvivesTheRoundTrip() {
        let outcomes: [Result<String, UpstreamFailure>] = [
            .success("sbx-token-1"), .success(""), .success("ünïcode:colons:"), .failure(.unavailable),
            .failure(.throttled(retryAfter: 7)), .failure(.throttled(retryAfter: nil)), .failure(.timedOut),
            .failure(.badResponse), .failure(.rejected), .failure(.refusedKey), .failure(.heldBack(retryAfter: 3)),
        ]
        for result in outcomes {
            let decoded = FleetOutcome.decode(FleetOutcome.encode(ExchangeOutcome(result: result)))
            #expect(decoded?.result == result)
        }
    }

    @Test func refusesWhatItDidNotWrite() {
        for bytes in ["", "x", "f", "fnope:", "ftimed_out:x", "fheld_back"].map({ Array($0.utf8) }) + [[0x74, 0xFF]] {
            #expect(FleetOutcome.decode(bytes) == nil)
        }
    }
}

@Suite("UpstreamBudget")
struct UpstreamBudgetTests {
    @Test func holdsTheRateAfterABurstOf100Ms() {
        let budget = UpstreamBudget(perSecond: 50)
        // 100 ms of burst at 20 ms per call: 6 calls at once, then one per 20 ms.
        let atOnce = (0..<20).filter { _ in budget.admit(nowMs: 1000) == nil }.count
        #expect(atOnce == 6)
        var admitted = 0
        for step in 1...1000 where budget.admit(nowMs: 1000 + Double(step)) == nil { admitted += 1 }
        #expect(admitted == 50)
    }

    @Test func refusalsSayWhenToRetry() {
        let budget = UpstreamBudget(perSecond: 1, burstMs: 0)
        #expect(budget.admit(nowMs: 0) == nil)
        #expect(budget.admit(nowMs: 1) == 1)
        #expect(budget.admit(nowMs: 1000) == nil)
    }

    @Test func aNewShareTakesEffect() {
        let budget = UpstreamBudget(perSecond: 1000, burstMs: 0)
        budget.setRate(perSecond: 10)
        #expect(budget.admit(nowMs: 0) == nil)
        #expect(budget.admit(nowMs: 50) != nil)
        #expect(budget.admit(nowMs: 100) == nil)
    }
}
