import Testing

@testable import AppInbox

private func load(_ env: [String: String], files: [String: String] = [:]) -> Result<Config, ConfigProblems> {
    Fixture.load(env, files: files)
}

private func problems(_ env: [String: String], files: [String: String] = [:]) -> [ConfigProblem] {
    Fixture.problems(env, files: files)
}

private let key = Fixture.environment()

private func with(_ extra: [String: String]) -> [String: String] {
    Fixture.environment(extra)
}

@Suite("Config.load")
struct ConfigTests {
    @Test func defaults() throws {
        let config = try load(key).get()
        #expect(config.apiKey == "sk-test-0123456789")
        #expect(config.tokenURL == "https://esputnik.com/v1/auth/contact/token")
        #expect(config.caFile == nil)
        #expect(config.connectTimeoutMs == 2000)
        #expect(config.timeoutMs == 5000)
        #expect(config.basePath == "/app-inbox")
        #expect(config.identityParams.email == "INBOX_EMAIL")
        #expect(config.identityParams.phone == "INBOX_PHONE")
        #expect(config.identityParams.externalCustomerId == "INBOX_EXTERNAL_CUSTOMER_ID")
        #expect(config.allowHeaderIdentity == false)
        #expect(config.threads == Config.defaultThreads)
        #expect((1...Config.threadRange.upperBound).contains(Config.defaultThreads))
        #expect(config.socketMode == 0o660)
        #expect(config.shutdownGraceSeconds == 10)
        #expect(config.logLevel == .info)
        #expect(config.logFormat == .text)
    }

    @Test func missingKeyNamesTheVariable() {
        let found = problems([:])
        #expect(found.map(\.variable) == ["APP_INBOX_API_KEY"])
        #expect(found.first?.description.hasPrefix("APP_INBOX_API_KEY: ") == true)
        #expect(problems(["APP_INBOX_API_KEY": ""]).map(\.variable) == ["APP_INBOX_API_KEY"])
    }

    @Test func keyFromAFileWithTrailingNewlineTrimmed() throws {
        let config = try load(["APP_INBOX_API_KEY_FILE": "/run/secrets/key"], files: ["/run/secrets/key": "sk-file-key\n"]).get()
        #expect(config.apiKey == "sk-file-key")
        let crlf = try load(["APP_INBOX_API_KEY_FILE": "/k"], files: ["/k": "  sk-file-key\r\n"]).get()
        #expect(crlf.apiKey == "sk-file-key")
    }

    @Test func keyAndKeyFileTogetherIsAProblem() {
        let found = problems(with(["APP_INBOX_API_KEY_FILE": "/k"]), files: ["/k": "other"])
        #expect(found.map(\.variable).contains("APP_INBOX_API_KEY_FILE"))
        #expect(found.contains { $0.message.contains("APP_INBOX_API_KEY") })
    }

    @Test func unreadableOrEmptyKeyFile() {
        let unreadable = problems(["APP_INBOX_API_KEY_FILE": "/missing"])
        #expect(unreadable.map(\.variable) == ["APP_INBOX_API_KEY_FILE"])
        #expect(unreadable.first?.message.contains("/missing") == true)
        #expect(problems(["APP_INBOX_API_KEY_FILE": "/k"], files: ["/k": "\n"]).map(\.variable) == ["APP_INBOX_API_KEY_FILE"])
    }

    @Test func keyWithControlCharactersIsAProblem() {
        #expect(problems(["APP_INBOX_API_KEY": "sk\r\nX-Evil: 1"]).map(\.variable) == ["APP_INBOX_API_KEY"])
        #expect(problems(["APP_INBOX_API_KEY_FILE": "/k"], files: ["/k": "sk\nline2\n"]).map(\.variable) == ["APP_INBOX_API_KEY"])
    }

    @Test(arguments: [
        "http://esputnik.com/v1/auth/contact/token", "ftp://x", "esputnik.com", "https://", "https://a b", "HTTP://x",
        // An env file line that swallowed the next one through a literal \n: a URL never holds
        // a backslash (RFC 3986 §2), nor these.
        #"https://127.0.0.1:1/v1/auth/contact/token\nAPP_INBOX_CA_FILE=/x/ca.pem"#, "https://x/<a>", "https://x/{a}",
        "https://x/\"a\"", "https://x/a|b", "https://x/a^b", "https://x/`a`",
    ])
    func tokenURLMustBeHTTPS(_ url: String) {
        #expect(problems(with(["APP_INBOX_TOKEN_URL": url])).map(\.variable) == ["APP_INBOX_TOKEN_URL"])
    }

    @Test func customTokenURLAndCAFile() throws {
        let config = try load(
            with(["APP_INBOX_TOKEN_URL": "https://sandbox.test:8443/v1/auth/contact/token", "APP_INBOX_CA_FILE": "/ca.pem"]),
            files: ["/ca.pem": "-----BEGIN CERTIFICATE-----"]
        ).get()
        #expect(config.tokenURL == "https://sandbox.test:8443/v1/auth/contact/token")
        #expect(config.caFile == "/ca.pem")
        #expect(problems(with(["APP_INBOX_CA_FILE": "/nope.pem"])).map(\.variable) == ["APP_INBOX_CA_FILE"])
    }

    @Test(arguments: [
        ("APP_INBOX_TIMEOUT_MS", "abc"), ("APP_INBOX_TIMEOUT_MS", "0"), ("APP_INBOX_TIMEOUT_MS", "-5"),
        ("APP_INBOX_TIMEOUT_MS", "1.5"), ("APP_INBOX_TIMEOUT_MS", "5000ms"), ("APP_INBOX_CONNECT_TIMEOUT_MS", "0"),
        ("APP_INBOX_THREADS", "0"), ("APP_INBOX_THREADS", "many"), ("APP_INBOX_SHUTDOWN_GRACE_S", "-1"),
    ])
    func badIntegersNameTheVariable(_ variable: String, _ value: String) {
        let found = problems(with([variable: value]))
        #expect(found.map(\.variable) == [variable])
    }

    @Test func integersAreRead() throws {
        let config = try load(
            with([
                "APP_INBOX_TIMEOUT_MS": "1500", "APP_INBOX_CONNECT_TIMEOUT_MS": "300", "APP_INBOX_THREADS": "8",
                "APP_INBOX_SHUTDOWN_GRACE_S": "0",
            ])
        ).get()
        #expect(config.timeoutMs == 1500)
        #expect(config.connectTimeoutMs == 300)
        #expect(config.threads == 8)
        #expect(config.shutdownGraceSeconds == 0)
    }

    @Test func customIdentityParams() throws {
        let config = try load(with(["APP_INBOX_EMAIL_PARAM": "REMOTE_USER", "APP_INBOX_EXTERNAL_ID_PARAM": "AUTH_USER_ID"])).get()
        #expect(config.identityParams.email == "REMOTE_USER")
        #expect(config.identityParams.phone == "INBOX_PHONE")
        #expect(config.identityParams.externalCustomerId == "AUTH_USER_ID")
        #expect(problems(with(["APP_INBOX_PHONE_PARAM": "BAD-NAME"])).map(\.variable) == ["APP_INBOX_PHONE_PARAM"])
    }

    @Test(arguments: ["APP_INBOX_EMAIL_PARAM", "APP_INBOX_PHONE_PARAM", "APP_INBOX_EXTERNAL_ID_PARAM"])
    func headerIdentityParamIsRefused(_ variable: String) throws {
        let found = problems(with([variable: "HTTP_X_USER_EMAIL"]))
        #expect(found.map(\.variable) == [variable])
        let message = try #require(found.first?.message)
        #expect(message.contains("HTTP_X_USER_EMAIL"))
        #expect(message.contains("request header that any client can set"))
        #expect(message.contains("APP_INBOX_ALLOW_HEADER_IDENTITY"))
    }

    @Test func headerIdentityParamAcceptedWhenAllowed() throws {
        let config = try load(with(["APP_INBOX_EMAIL_PARAM": "HTTP_X_USER_EMAIL", "APP_INBOX_ALLOW_HEADER_IDENTITY": "1"])).get()
        #expect(config.identityParams.email == "HTTP_X_USER_EMAIL")
        #expect(config.allowHeaderIdentity)
        #expect(
            problems(with(["APP_INBOX_EMAIL_PARAM": "HTTP_X", "APP_INBOX_ALLOW_HEADER_IDENTITY": "0"])).map(\.variable)
                == ["APP_INBOX_EMAIL_PARAM"])
        #expect(problems(with(["APP_INBOX_ALLOW_HEADER_IDENTITY": "maybe"])).map(\.variable) == ["APP_INBOX_ALLOW_HEADER_IDENTITY"])
    }

    @Test func severalProblemsAreReportedTogether() {
        let found = problems([
            "APP_INBOX_TOKEN_URL": "http://x", "APP_INBOX_TIMEOUT_MS": "abc", "APP_INBOX_EMAIL_PARAM": "HTTP_EMAIL",
            "APP_INBOX_LOG_LEVEL": "verbose",
        ])
        #expect(
            Set(found.map(\.variable))
                == ["APP_INBOX_API_KEY", "APP_INBOX_TOKEN_URL", "APP_INBOX_TIMEOUT_MS", "APP_INBOX_EMAIL_PARAM", "APP_INBOX_LOG_LEVEL"])
        #expect(found.allSatisfy { $0.description.hasPrefix($0.variable + ": ") })
    }

    @Test(arguments: [("/app-inbox/", "/app-inbox"), ("/app-inbox", "/app-inbox"), ("/a/b//", "/a/b"), ("/", ""), ("//", "")])
    func basePathIsNormalised(_ raw: String, _ normalised: String) throws {
        #expect(try load(with(["APP_INBOX_BASE_PATH": raw])).get().basePath == normalised)
    }

    @Test(arguments: ["app-inbox", "/app inbox", "/app-inbox?x=1", "/app-inbox#x", "/a\tb"])
    func badBasePathNamesTheVariable(_ raw: String) {
        #expect(problems(with(["APP_INBOX_BASE_PATH": raw])).map(\.variable) == ["APP_INBOX_BASE_PATH"])
    }

    @Test(arguments: [("660", 0o660), ("600", 0o600), ("0666", 0o666), ("777", 0o777), ("0", 0)] as [(String, UInt32)])
    func socketModeIsOctal(_ raw: String, _ bits: UInt32) throws {
        #expect(try load(with(["APP_INBOX_SOCKET_MODE": raw])).get().socketMode == bits)
    }

    @Test(arguments: ["888", "1000", "rw-rw----", "0x1b6", "6 6 0"])
    func badSocketModeNamesTheVariable(_ raw: String) {
        #expect(problems(with(["APP_INBOX_SOCKET_MODE": raw])).map(\.variable) == ["APP_INBOX_SOCKET_MODE"])
    }

    @Test func logSettings() throws {
        let config = try load(with(["APP_INBOX_LOG_LEVEL": "debug", "APP_INBOX_LOG_FORMAT": "json"])).get()
        #expect(config.logLevel == .debug)
        #expect(config.logFormat == .json)
        #expect(problems(with(["APP_INBOX_LOG_FORMAT": "xml"])).map(\.variable) == ["APP_INBOX_LOG_FORMAT"])
    }

    @Test func emptyVariablesCountAsUnset() throws {
        let config = try load(with(["APP_INBOX_TIMEOUT_MS": "", "APP_INBOX_BASE_PATH": "", "APP_INBOX_TOKEN_URL": ""])).get()
        #expect(config.timeoutMs == 5000)
        #expect(config.basePath == "/app-inbox")
        #expect(config.tokenURL == "https://esputnik.com/v1/auth/contact/token")
    }

    @Test func summaryNeverContainsTheKey() throws {
        let secret = "sk-very-secret-key-value"
        for config in [
            try load(["APP_INBOX_API_KEY": secret]).get(),
            try load(["APP_INBOX_API_KEY_FILE": "/k"], files: ["/k": secret + "\n"]).get(),
        ] {
            let summary = config.summary.joined(separator: "\n")
            #expect(!summary.contains(secret))
            #expect(!summary.contains("very-secret"))
            #expect(summary.contains("APP_INBOX_API_KEY=(set"))
            #expect(summary.contains("APP_INBOX_BASE_PATH=/app-inbox"))
            #expect(summary.contains("APP_INBOX_SOCKET_MODE=660"))
        }
    }

    @Test func problemsNeverContainTheKey() {
        let secret = "sk-secret\u{1}"
        let found = problems(["APP_INBOX_API_KEY": secret, "APP_INBOX_API_KEY_FILE": "/k"], files: ["/k": "sk-other-secret"])
        #expect(!found.isEmpty)
        #expect(!found.map(\.description).joined().contains("sk-secret"))
        #expect(!found.map(\.description).joined().contains("sk-other-secret"))
    }
}
