import Testing

@testable import AppInbox

/// The repository's own files, read relative to this test file.
private func repositoryFile(_ path: String) throws -> String {
    let root = String(
        #filePath.utf8.split(separator: UInt8(ascii: "/")).dropLast(3).map { String(decoding: $0, as: UTF8.self) }
            .joined(separator: "/"))
    return String(decoding: try FileBytes.read("/" + root + "/" + path), as: UTF8.self)
}

/// `APP_INBOX_*` names in the first column of README.md's configuration tables.
private func documentedVariables() throws -> Set<String> {
    Set(
        try repositoryFile("README.md").split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `APP_INBOX_") else { return nil }
            return String(line.dropFirst(3).prefix { $0 != "`" })
        })
}

/// `Config.settings` is the one list of variables: `check-config`, reload and the docs follow it.
@Suite("Settings table")
struct SettingsTableTests {
    @Test func everySettingIsDocumentedAndEveryDocumentedVariableIsASetting() throws {
        let variables = try Fixture.config().settings.map(\.variable)
        #expect(Set(variables).count == variables.count, "a variable listed twice")
        let documented = try documentedVariables()
        // The key file is where APP_INBOX_API_KEY comes from, not a setting of its own.
        #expect(Set(variables) == documented.subtracting(["APP_INBOX_API_KEY_FILE"]))
        let manual = try repositoryFile("man/app-inbox-fcgi.8")
        for variable in variables {
            #expect(manual.contains(variable), "\(variable) missing from man/app-inbox-fcgi.8")
        }
    }

    @Test func theUpstreamAndSignedIdentitySettingsAreTheReloadableOnes() throws {
        let reloadable = try Fixture.config().settings.filter(\.reloadable).map(\.variable)
        #expect(
            reloadable == [
                "APP_INBOX_API_KEY", "APP_INBOX_TOKEN_URL", "APP_INBOX_CA_FILE", "APP_INBOX_CONNECT_TIMEOUT_MS",
                "APP_INBOX_TIMEOUT_MS", "APP_INBOX_SIGNED_IDENTITY_KEYS", "APP_INBOX_SIGNED_IDENTITY_SECRET_FILE",
                "APP_INBOX_SIGNED_IDENTITY_COOKIE", "APP_INBOX_SIGNED_IDENTITY_AUDIENCE", "APP_INBOX_SIGNED_IDENTITY_ISSUER",
                "APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S", "APP_INBOX_SIGNED_IDENTITY_EMAIL_CLAIM",
                "APP_INBOX_SIGNED_IDENTITY_PHONE_CLAIM", "APP_INBOX_SIGNED_IDENTITY_EXTERNAL_ID_CLAIM",
            ])
    }

    @Test func checkConfigPrintsTheTable() throws {
        let config = try Fixture.config(["APP_INBOX_CACHE_TTL_S": "0"])
        #expect(config.summary == config.settings.map { "\($0.variable)=\($0.shown)" })
        #expect(config.summary.contains("APP_INBOX_CACHE_TTL_S=0 (cache off)"))
    }

    @Test(arguments: [
        ("APP_INBOX_THREADS", "7"), ("APP_INBOX_CACHE_TTL_S", "30"), ("APP_INBOX_MAX_UPSTREAM", "3"),
        ("APP_INBOX_ALLOWED_ORIGINS", "https://shop.example"), ("APP_INBOX_SITE_ID", "site-2"),
        ("APP_INBOX_LOG_LEVEL", "debug"), ("APP_INBOX_INIT_FLAGS", "RECOMS=true"),
    ])
    func aChangeAReloadCannotApplyIsNamed(_ variable: String, _ value: String) throws {
        let app = try TestApp()
        #expect(app.service.reload(try app.config([variable: value])) == [variable])
    }

    @Test func aChangeOnlyInHowAValueIsWrittenIsNoChange() throws {
        // The comparison is of parsed values: "yes" and "1", "/app-inbox/" and "/app-inbox" agree.
        let app = try TestApp(["APP_INBOX_HEALTH_STRICT": "1", "APP_INBOX_BASE_PATH": "/app-inbox"])
        let same = try app.config(["APP_INBOX_HEALTH_STRICT": "yes", "APP_INBOX_BASE_PATH": "/app-inbox/"])
        #expect(app.service.reload(same).isEmpty)
    }

    @Test func upstreamChangesApplyWithoutARestart() throws {
        let app = try TestApp()
        let changed = try app.config([
            "APP_INBOX_API_KEY": "sk-new-key-0123", "APP_INBOX_TIMEOUT_MS": "900", "APP_INBOX_CONNECT_TIMEOUT_MS": "300",
            "APP_INBOX_TOKEN_URL": "https://esputnik.test/v1/auth/contact/token",
        ])
        #expect(app.service.reload(changed).isEmpty)
    }
}
