import Testing

@testable import AppInbox

private func settings(_ extra: [String: String]) throws -> ResilienceSettings {
    try Fixture.config(extra).resilience
}

private func problems(_ extra: [String: String]) -> [ConfigProblem] {
    Fixture.problems(Fixture.environment(extra))
}

@Suite("ResilienceSettings from the environment")
struct ResilienceSettingsTests {
    @Test func defaultsFollowTheDesign() throws {
        let resilience = try settings([:])
        #expect(resilience.cacheTTLSeconds == 0)
        #expect(resilience.negativeTTLSeconds == 10)
        #expect(resilience.cacheMax == 10_000)
        #expect(resilience.rateLimitPerMinute == 60)
        #expect(resilience.maxUpstream == nil)
        #expect(resilience.breakerFailures == 5)
        #expect(resilience.breakerCooldownSeconds == 10)
        #expect(resilience.allowedOrigins == [])
        #expect(resilience.healthStrict == false)
        #expect(resilience == ResilienceSettings())
    }

    @Test func everyVariableIsRead() throws {
        let resilience = try settings([
            "APP_INBOX_CACHE_TTL_S": "300", "APP_INBOX_NEGATIVE_TTL_S": "5", "APP_INBOX_CACHE_MAX": "250",
            "APP_INBOX_RATE_LIMIT_PER_MIN": "120", "APP_INBOX_MAX_UPSTREAM": "16", "APP_INBOX_BREAKER_FAILURES": "3",
            "APP_INBOX_BREAKER_COOLDOWN_S": "30", "APP_INBOX_ALLOWED_ORIGINS": "https://shop.example",
            "APP_INBOX_HEALTH_STRICT": "1",
        ])
        #expect(resilience.cacheTTLSeconds == 300)
        #expect(resilience.negativeTTLSeconds == 5)
        #expect(resilience.cacheMax == 250)
        #expect(resilience.rateLimitPerMinute == 120)
        #expect(resilience.maxUpstream == 16)
        #expect(resilience.breakerFailures == 3)
        #expect(resilience.breakerCooldownSeconds == 30)
        #expect(resilience.allowedOrigins == ["https://shop.example"])
        #expect(resilience.healthStrict)
    }

    @Test(arguments: [
        ("APP_INBOX_CACHE_TTL_S", "0", "cacheTTLSeconds", 0),
        ("APP_INBOX_CACHE_TTL_S", "86400", "cacheTTLSeconds", 86_400),
        ("APP_INBOX_NEGATIVE_TTL_S", "0", "negativeTTLSeconds", 0),
        ("APP_INBOX_NEGATIVE_TTL_S", "86400", "negativeTTLSeconds", 86_400),
        ("APP_INBOX_CACHE_MAX", "1", "cacheMax", 1),
        ("APP_INBOX_CACHE_MAX", "10000000", "cacheMax", 10_000_000),
        ("APP_INBOX_RATE_LIMIT_PER_MIN", "0", "rateLimitPerMinute", 0),
        ("APP_INBOX_RATE_LIMIT_PER_MIN", "1000000", "rateLimitPerMinute", 1_000_000),
        ("APP_INBOX_BREAKER_FAILURES", "1", "breakerFailures", 1),
        ("APP_INBOX_BREAKER_FAILURES", "1000", "breakerFailures", 1000),
        ("APP_INBOX_BREAKER_COOLDOWN_S", "1", "breakerCooldownSeconds", 1),
        ("APP_INBOX_BREAKER_COOLDOWN_S", "3600", "breakerCooldownSeconds", 3600),
    ])
    func limitsOfEachRangeAreAccepted(_ variable: String, _ value: String, _ field: String, _ expected: Int) throws {
        let resilience = try settings([variable: value])
        let fields = [
            "cacheTTLSeconds": resilience.cacheTTLSeconds, "negativeTTLSeconds": resilience.negativeTTLSeconds,
            "cacheMax": resilience.cacheMax, "rateLimitPerMinute": resilience.rateLimitPerMinute,
            "breakerFailures": resilience.breakerFailures, "breakerCooldownSeconds": resilience.breakerCooldownSeconds,
        ]
        #expect(fields[field] == expected)
    }

    @Test(arguments: [("1", 1), ("10000", 10_000)])
    func maxUpstreamRange(_ value: String, _ expected: Int) throws {
        #expect(try settings(["APP_INBOX_MAX_UPSTREAM": value]).maxUpstream == expected)
    }

    @Test(arguments: [
        ("APP_INBOX_CACHE_TTL_S", "-1"), ("APP_INBOX_CACHE_TTL_S", "86401"), ("APP_INBOX_CACHE_TTL_S", "five"),
        ("APP_INBOX_CACHE_TTL_S", "60s"), ("APP_INBOX_CACHE_TTL_S", "1.5"),
        ("APP_INBOX_NEGATIVE_TTL_S", "-1"), ("APP_INBOX_NEGATIVE_TTL_S", "86401"), ("APP_INBOX_NEGATIVE_TTL_S", "ten"),
        ("APP_INBOX_CACHE_MAX", "0"), ("APP_INBOX_CACHE_MAX", "10000001"), ("APP_INBOX_CACHE_MAX", "lots"),
        ("APP_INBOX_RATE_LIMIT_PER_MIN", "-1"), ("APP_INBOX_RATE_LIMIT_PER_MIN", "1000001"),
        ("APP_INBOX_RATE_LIMIT_PER_MIN", "off"), ("APP_INBOX_RATE_LIMIT_PER_MIN", "60/min"),
        ("APP_INBOX_MAX_UPSTREAM", "0"), ("APP_INBOX_MAX_UPSTREAM", "-3"), ("APP_INBOX_MAX_UPSTREAM", "10001"),
        ("APP_INBOX_MAX_UPSTREAM", "auto"),
        ("APP_INBOX_BREAKER_FAILURES", "0"), ("APP_INBOX_BREAKER_FAILURES", "1001"), ("APP_INBOX_BREAKER_FAILURES", "x"),
        ("APP_INBOX_BREAKER_COOLDOWN_S", "0"), ("APP_INBOX_BREAKER_COOLDOWN_S", "3601"),
        ("APP_INBOX_BREAKER_COOLDOWN_S", "10 s"),
        ("APP_INBOX_HEALTH_STRICT", "2"), ("APP_INBOX_HEALTH_STRICT", "on"),
    ])
    func badValuesNameTheVariable(_ variable: String, _ value: String) throws {
        let found = problems([variable: value])
        #expect(found.map(\.variable) == [variable])
        let problem = try #require(found.first)
        #expect(problem.description.hasPrefix(variable + ": "))
    }

    @Test func outOfRangeMessagesGiveTheRange() throws {
        let problem = try #require(problems(["APP_INBOX_BREAKER_COOLDOWN_S": "0"]).first)
        #expect(problem.message.contains("1"))
        #expect(problem.message.contains("3600"))
    }

    @Test func severalBadVariablesAreAllReported() {
        let found = problems([
            "APP_INBOX_CACHE_TTL_S": "x", "APP_INBOX_RATE_LIMIT_PER_MIN": "-1", "APP_INBOX_BREAKER_FAILURES": "0",
            "APP_INBOX_ALLOWED_ORIGINS": "ftp://x", "APP_INBOX_HEALTH_STRICT": "maybe",
        ])
        #expect(
            Set(found.map(\.variable))
                == [
                    "APP_INBOX_CACHE_TTL_S", "APP_INBOX_RATE_LIMIT_PER_MIN", "APP_INBOX_BREAKER_FAILURES",
                    "APP_INBOX_ALLOWED_ORIGINS", "APP_INBOX_HEALTH_STRICT",
                ])
    }

    @Test func emptyValuesCountAsUnset() throws {
        let resilience = try settings([
            "APP_INBOX_CACHE_TTL_S": "", "APP_INBOX_MAX_UPSTREAM": "", "APP_INBOX_ALLOWED_ORIGINS": "",
            "APP_INBOX_HEALTH_STRICT": "",
        ])
        #expect(resilience == ResilienceSettings())
    }

    @Test func allowedOriginsAreNormalisedAndTrimmed() throws {
        let resilience = try settings([
            "APP_INBOX_ALLOWED_ORIGINS": " HTTPS://Shop.Example/ ,http://localhost:8080,, https://www.shop.example\t"
        ])
        #expect(resilience.allowedOrigins == ["https://shop.example", "http://localhost:8080", "https://www.shop.example"])
    }

    @Test func onlyCommasAllowAnyOrigin() throws {
        #expect(try settings(["APP_INBOX_ALLOWED_ORIGINS": " , ,"]).allowedOrigins == [])
    }

    @Test func badOriginEntriesAreEachNamed() {
        let found = problems([
            "APP_INBOX_ALLOWED_ORIGINS": "https://shop.example,shop.example,https://shop.example/app,ftp://files.example"
        ])
        #expect(found.map(\.variable) == Array(repeating: "APP_INBOX_ALLOWED_ORIGINS", count: 3))
        #expect(found.count == 3)
        #expect(found.contains { $0.message.contains("'shop.example'") })
        #expect(found.contains { $0.message.contains("'https://shop.example/app'") })
        #expect(found.contains { $0.message.contains("'ftp://files.example'") })
        #expect(!found.contains { $0.message.contains("'https://shop.example'") })
    }

    @Test(arguments: [("1", true), ("true", true), ("yes", true), ("0", false), ("false", false), ("no", false)])
    func healthStrictFlagValues(_ value: String, _ expected: Bool) throws {
        #expect(try settings(["APP_INBOX_HEALTH_STRICT": value]).healthStrict == expected)
    }

    @Test func theSummaryShowsTheEffectiveSettings() throws {
        let config = try Fixture.config(["APP_INBOX_THREADS": "8", "APP_INBOX_ALLOWED_ORIGINS": "https://shop.example"])
        let summary = config.summary
        #expect(summary.contains("APP_INBOX_CACHE_TTL_S=0 (cache off)"))
        #expect(summary.contains("APP_INBOX_RATE_LIMIT_PER_MIN=60"))
        #expect(summary.contains("APP_INBOX_MAX_UPSTREAM=1024, 64 while eSputnik stalls"))
        #expect(summary.contains("APP_INBOX_BREAKER_FAILURES=5"))
        #expect(summary.contains("APP_INBOX_ALLOWED_ORIGINS=https://shop.example"))
        #expect(summary.contains("APP_INBOX_HEALTH_STRICT=0"))
    }
}
