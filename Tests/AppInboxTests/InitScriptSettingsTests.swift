import Testing

@testable import AppInbox

private func load(_ extra: [String: String]) -> Result<Config, ConfigProblems> {
    Fixture.load(Fixture.environment(extra))
}

private func problems(_ extra: [String: String]) -> [ConfigProblem] {
    Fixture.problems(Fixture.environment(extra))
}

@Suite("InitScriptSettings")
struct InitScriptSettingsTests {
    @Test func defaultsFollowDesign() throws {
        let settings = try load([:]).get().initScript
        #expect(settings.languages == ["en"])
        #expect(settings.defaultLanguage == nil)
        #expect(settings.effectiveDefaultLanguage == "en")
        #expect(settings.includesLoader)
        #expect(settings.scriptBaseURL == "https://statics.esputnik.com/scripts/")
        #expect(settings.siteID == nil)
        #expect(settings.initFlags.isEmpty)
        #expect(settings.maxAgeSeconds == 300)
    }

    @Test func aTokenOnlyDeploymentStartsWithoutASiteID() throws {
        let settings = try load([:]).get().initScript
        #expect(settings.unavailableReason?.contains("APP_INBOX_SITE_ID") == true)
        #expect(settings.unavailableReason?.contains("APP_INBOX_LOADER=omit") == true)
        var omitted = settings
        omitted.includesLoader = false
        #expect(omitted.unavailableReason == nil)
    }

    @Test func everyVariableIsRead() throws {
        let settings = try load([
            "APP_INBOX_LANGUAGES": " EN, uk ,de,uk", "APP_INBOX_DEFAULT_LANGUAGE": "UK", "APP_INBOX_LOADER": "omit",
            "APP_INBOX_SCRIPT_BASE_URL": "/static/es/", "APP_INBOX_SITE_ID": "A1_b-2",
            "APP_INBOX_INIT_FLAGS": "RECOMS=true, TRACKING=false,,LIMIT=10,MODE=compact",
            "APP_INBOX_SCRIPT_MAX_AGE_S": "0",
        ]).get().initScript
        #expect(settings.languages == ["en", "uk", "de"])
        #expect(settings.effectiveDefaultLanguage == "uk")
        #expect(!settings.includesLoader)
        #expect(settings.scriptBaseURL == "/static/es/")
        #expect(settings.siteID == "A1_b-2")
        #expect(
            settings.initFlags == [
                .init("RECOMS", .bool(true)), .init("TRACKING", .bool(false)), .init("LIMIT", .number(10)),
                .init("MODE", .string("compact")),
            ])
        #expect(settings.maxAgeSeconds == 0)
    }

    @Test(arguments: [
        ("APP_INBOX_SITE_ID", "has space"), ("APP_INBOX_SITE_ID", "a/b"), ("APP_INBOX_SITE_ID", "</script>"),
        ("APP_INBOX_SITE_ID", String(repeating: "a", count: 129)),
        ("APP_INBOX_DEFAULT_LANGUAGE", "de"), ("APP_INBOX_DEFAULT_LANGUAGE", "en-US"),
        ("APP_INBOX_LANGUAGES", "en,uk-UA"), ("APP_INBOX_LANGUAGES", "english"), ("APP_INBOX_LANGUAGES", ",,"),
        ("APP_INBOX_LANGUAGES", "e1"),
        ("APP_INBOX_LOADER", "yes"), ("APP_INBOX_LOADER", "OMIT"),
        ("APP_INBOX_SCRIPT_BASE_URL", "https://cdn.example/scripts"), ("APP_INBOX_SCRIPT_BASE_URL", "ftp://x/"),
        ("APP_INBOX_SCRIPT_BASE_URL", "https:///"), ("APP_INBOX_SCRIPT_BASE_URL", "scripts/"),
        ("APP_INBOX_SCRIPT_BASE_URL", "https://x/a b/"), ("APP_INBOX_SCRIPT_BASE_URL", #"https://x/"+alert(1)+"/"#),
        ("APP_INBOX_SCRIPT_MAX_AGE_S", "-1"), ("APP_INBOX_SCRIPT_MAX_AGE_S", "31536001"),
        ("APP_INBOX_SCRIPT_MAX_AGE_S", "5m"),
        ("APP_INBOX_INIT_FLAGS", "RECOMS"), ("APP_INBOX_INIT_FLAGS", "RECOMS=true,TRACKING"),
        ("APP_INBOX_INIT_FLAGS", "=true"), ("APP_INBOX_INIT_FLAGS", "1X=true"), ("APP_INBOX_INIT_FLAGS", "a-b=1"),
        ("APP_INBOX_INIT_FLAGS", "APP_INBOX=false"), ("APP_INBOX_INIT_FLAGS", "A=1,A=2"),
        ("APP_INBOX_INIT_FLAGS", "A=x\u{1}y"),
    ])
    func badValuesNameTheirVariable(_ variable: String, _ value: String) {
        let found = problems([variable: value])
        #expect(found.map(\.variable) == [variable], "\(value): \(found)")
        #expect(found.first?.description.hasPrefix(variable + ": ") == true)
    }

    @Test func flagValuesKeepTheirType() throws {
        let flags = try InitFlag.parseList("A=true,B=false,C=0,D=-12,E=1e3,F=0x10,G=True,H=,I=a=b,J=12345678901234567")
            .get()
        #expect(
            flags == [
                .init("A", .bool(true)), .init("B", .bool(false)), .init("C", .number(0)), .init("D", .number(-12)),
                .init("E", .string("1e3")), .init("F", .string("0x10")), .init("G", .string("True")),
                .init("H", .string("")), .init("I", .string("a=b")), .init("J", .string("12345678901234567")),
            ])
        #expect(try InitFlag.parseList("").get().isEmpty)
        #expect(try InitFlag.parseList(" , ").get().isEmpty)
    }

    @Test func summaryShowsTheEffectiveValues() throws {
        let summary = try load(["APP_INBOX_LANGUAGES": "en,uk", "APP_INBOX_INIT_FLAGS": "RECOMS=true"]).get().summary
        #expect(summary.contains("APP_INBOX_LANGUAGES=en,uk"))
        #expect(summary.contains("APP_INBOX_DEFAULT_LANGUAGE=en"))
        #expect(summary.contains("APP_INBOX_LOADER=include"))
        #expect(summary.contains("APP_INBOX_INIT_FLAGS=RECOMS=true"))
        #expect(summary.contains("APP_INBOX_SCRIPT_MAX_AGE_S=300"))
        #expect(summary.contains { $0.hasPrefix("APP_INBOX_SITE_ID=(unset: init.js answers 404") })
    }
}
