import ResponderCore

/// eSputnik's token endpoint as documented, plus a record of what it received and switchable
/// faults. Shared by all of the sandbox's worker threads.
final class Sandbox: Sendable {
    struct State {
        var fault = Fault()
        var calls = 0
        var records: [[UInt8]] = []
        /// Bumped by reset and by every fault change, so a hanging call notices it was released.
        var generation = 0
    }

    let apiKeys: Set<String>
    /// Known contacts by their UTF-8 bytes: eSputnik tells `josé` (NFC) from `jose\u{301}` (NFD),
    /// which Swift's `String` equality would merge.
    let contacts: Set<[UInt8]>
    let state = Locked(State())
    /// The `make run` demo site's sign-in (`/_demo/…`).
    let demoLogin: DemoLogin

    init(apiKeys: Set<String>, contacts: Set<[UInt8]>, identitySecret: [UInt8]? = nil) {
        self.apiKeys = apiKeys
        self.contacts = contacts
        demoLogin = DemoLogin(identitySecret: identitySecret)
    }

    func respond(to request: Request) -> Response {
        let path = RequestTarget.path(of: request)
        let query = RequestTarget.query(of: request)
        if path.hasSuffix("/v1/auth/contact/token") {
            guard request.method == "POST" else { return plain(405, "use POST") }
            return tokenCall(request)
        }
        if path.hasPrefix("/_demo/") { return demoLogin.respond(to: request, path: path) }
        switch path {
        case "/_sandbox/fault": return setFault(query)
        case "/_sandbox/reset":
            state.withLock { $0 = State(generation: $0.generation + 1) }
            return plain(200, "reset")
        case "/_sandbox/requests":
            let records = state.withLock { $0.records }
            var body: [UInt8] = [UInt8(ascii: "[")]
            for (index, record) in records.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body.append(contentsOf: record)
            }
            body.append(UInt8(ascii: "]"))
            return Response(status: 200, headers: [.init("Content-Type", "application/json")], body: body)
        case "/_sandbox/healthz": return plain(200, "ok")
        default: return plain(404, "not found")
        }
    }

    private func setFault(_ query: Query) -> Response {
        var fault = Fault()
        if let kind = query["kind"] {
            guard let parsed = Fault.Kind(rawValue: kind) else { return plain(400, "unknown kind \(kind)") }
            fault.kind = parsed
        }
        fault.latencyMs = query["latency_ms"].flatMap { Int($0) } ?? 0
        fault.retryAfter = query["retry_after"].flatMap { Int($0) } ?? fault.retryAfter
        fault.remaining = query["times"].flatMap { Int($0) }
        fault.token = query["token"] ?? ""
        state.withLock {
            $0.fault = fault
            $0.generation += 1
        }
        return plain(200, "fault \(fault.kind.rawValue)")
    }

    func plain(_ status: Int, _ text: String) -> Response {
        Response(status: status, headers: [.init("Content-Type", "text/plain")], body: Array((text + "\n").utf8))
    }

    func json(_ status: Int, _ body: String, extra: [Response.Header] = []) -> Response {
        Response(status: status, headers: [.init("Content-Type", "application/json")] + extra, body: Array(body.utf8))
    }
}
