import Testing

@testable import AppInbox

/// The whole responder in-process, with a scripted eSputnik instead of curl: requests go
/// through `respond(to:)` exactly as the FastCGI transport sends them, without sockets.
/// Unchecked: `worker` serves only the test's own thread; other threads make their own with
/// `makeWorker()`, as the transport's worker threads do.
final class TestApp: @unchecked Sendable {
    let service: AppInboxService
    let upstream: ScriptedUpstream
    /// The worker that `get` uses; `makeWorker()` gives more, one per thread.
    let worker: AppInboxWorker
    private let env: [String: String]
    private let files: [String: String]

    /// A responder configured by `env` (on top of the test key), its eSputnik answering `script`.
    init(
        _ env: [String: String] = [:], files: [String: String] = [:],
        upstream script: [ScriptedUpstream.Step] = [.now(Fixture.ok("tok"))], clock: VirtualClock? = nil
    ) throws {
        self.env = ["APP_INBOX_LOG_LEVEL": "error"].merging(env) { _, new in new }
        self.files = files
        let config = try Fixture.config(self.env, files: files)
        let upstream = ScriptedUpstream(script, clock: clock)
        let time = clock.map { clock in PipelineClock(now: clock.now) } ?? .monotonic
        service = try AppInboxService(config: config, log: Log(level: config.logLevel), clock: time) { upstream.transport($0) }
        self.upstream = upstream
        worker = try service.makeWorker()
    }

    func makeWorker() throws -> AppInboxWorker { try service.makeWorker() }

    /// This app's configuration with `changes`, as a reload would read it.
    func config(_ changes: [String: String], files: [String: String]? = nil) throws -> Config {
        try Fixture.config(env.merging(changes) { _, new in new }, files: files ?? self.files)
    }

    /// A GET of the token route for a user the web server signed in by email.
    func token(
        _ email: String, query: String = "", headers: [String: String] = [:], on worker: AppInboxWorker? = nil
    )
        -> Answer
    {
        get("/app-inbox/token" + (query.isEmpty ? "" : "?" + query), headers: headers, params: ["INBOX_EMAIL": email], on: worker)
    }

    /// Any request, answered as the web server would receive it.
    func get(
        _ target: String, method: String = "GET", headers: [String: String] = [:], params: [String: String] = [:],
        on worker: AppInboxWorker? = nil
    ) -> Answer {
        let request = Fixture.request(method: method, target, headers: headers, params: params)
        return Answer(Self.settle((worker ?? self.worker).reply(to: request)))
    }

    /// The answer of a reply, waiting at most 10 s for one that comes later, so that a test that
    /// forgets to release a held call fails instead of hanging the suite.
    static func settle(_ reply: Reply) -> Response {
        guard case .later(let pending) = reply else { return reply.wait() }
        let answer = Locked<Response?>(nil)
        pending.attach { response in answer.withLock { $0 = response } }
        guard waitUntil(ms: 10_000, { answer.withLock { $0 != nil } }) else {
            Issue.record("no answer within 10 s: a held call was never released")
            return .text(status: 599, "never answered\n")
        }
        return answer.withLock { $0! }
    }

    /// The status route's counters, as JSON.
    var status: JSONValue { JSONValue.parse(get("/app-inbox/status").response.body) ?? .null }

    /// What the browser receives.
    struct Answer {
        let response: Response
        init(_ response: Response) { self.response = response }

        var status: Int { response.status }
        var json: JSONValue? { JSONValue.parse(response.body) }
        /// The token of a 200, nil otherwise.
        var token: String? { status == 200 ? json?["token"]?.stringValue : nil }
        /// The error code of an error answer.
        var error: String? { json?["error"]?.stringValue }
        func header(_ name: String) -> String? { response.header(name) }
    }
}
