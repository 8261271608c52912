@testable import AppInbox

/// One way per layer to build what tests need: a configuration, a request, an identity key, an
/// eSputnik answer.
enum Fixture {
    /// The key every test configuration starts from.
    static let apiKey = "sk-test-0123456789"

    /// The environment of a valid configuration, with `extra` on top.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["APP_INBOX_API_KEY": apiKey].merging(extra) { _, new in new }
    }

    /// What `Config.load` makes of an environment, reading files only from `files`.
    static func load(_ env: [String: String], files: [String: String] = [:]) -> Result<Config, ConfigProblems> {
        Config.load(environment: env) { path in
            guard let text = files[path] else { throw NoSuchFile() }
            return Array(text.utf8)
        }
    }

    /// The problems of a configuration that must fail (empty when it loads).
    static func problems(_ env: [String: String], files: [String: String] = [:]) -> [ConfigProblem] {
        switch load(env, files: files) {
        case .success: []
        case .failure(let failure): failure.problems
        }
    }

    /// A configuration that must load: the test key plus `extra`.
    static func config(_ extra: [String: String] = [:], files: [String: String] = [:]) throws -> Config {
        try load(environment(extra), files: files).get()
    }

    /// A request as a web server would pass it: `headers` by their HTTP names become `HTTP_*`
    /// params the way CGI mangles them, and `params` are set as given.
    static func request(
        method: String = "GET", _ target: String = "/app-inbox/token", headers: [String: String] = [:],
        params: [String: String] = [:], body: [UInt8] = []
    ) -> Request {
        var all = ["REQUEST_METHOD": method, "REQUEST_URI": target]
        for (name, value) in headers { all[headerParam(name)] = value }
        all.merge(params) { _, new in new }
        return Request(params: all, body: body)
    }

    /// `Sec-Fetch-Site` → `HTTP_SEC_FETCH_SITE` (RFC 3875 section 4.1.18).
    static func headerParam(_ name: String) -> String {
        "HTTP_" + String(name.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    /// A distinct identity key per number.
    static func key(_ number: Int) -> IdentityKey {
        IdentityKey(digest: Digest256(words: (UInt64(number), 0x5EED, UInt64(number) &* 31, 7)))
    }

    /// eSputnik's answer with a token.
    static func ok(_ token: String) -> UpstreamAttempt {
        .answered(status: 200, body: Array(#"{"token":"\#(token)"}"#.utf8), retryAfter: nil)
    }

    /// eSputnik's answer with an error status.
    static func status(_ code: Int, retryAfter: Int? = nil) -> UpstreamAttempt {
        .answered(status: code, body: Array("error page".utf8), retryAfter: retryAfter)
    }

    struct NoSuchFile: Error, CustomStringConvertible {
        var description: String { "No such file or directory" }
    }
}
