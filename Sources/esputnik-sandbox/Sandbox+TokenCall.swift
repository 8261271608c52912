import ResponderCore

extension Sandbox {
    /// One call of `POST /v1/auth/contact/token`: recorded, then faulted or answered.
    func tokenCall(_ request: Request) -> Response {
        let (fault, sequence, generation) = state.withLock { state -> (Fault, Int, Int) in
            state.calls += 1
            state.records.append(record(request, sequence: state.calls))
            let fault = state.fault
            if let remaining = state.fault.remaining {
                if remaining <= 1 { state.fault = Fault(latencyMs: state.fault.latencyMs) } else { state.fault.remaining = remaining - 1 }
            }
            return (fault, state.calls, state.generation)
        }
        if fault.latencyMs > 0 { MonotonicClock.sleep(ms: Double(fault.latencyMs)) }
        switch fault.kind {
        case .none, .token: break
        case .serverError: return json(500, #"{"error":"Internal Server Error"}"#)
        case .rateLimited:
            return json(429, #"{"error":"Too Many Requests"}"#, extra: [.init("Retry-After", String(fault.retryAfter))])
        case .rejected: return json(400, #"{"error":"Bad Request"}"#)
        case .unauthorized: return json(401, #"{"error":"Unauthorized"}"#)
        case .garbage: return Response(status: 200, headers: [.init("Content-Type", "text/html")], body: Array("<html>oops</html>".utf8))
        case .oversize:
            return json(200, #"{"token":""# + String(repeating: "x", count: 70 * 1024) + #""}"#)
        case .hang:
            let released = MonotonicClock.nowMs() + 120_000
            while MonotonicClock.nowMs() < released, state.withLock({ $0.generation }) == generation {
                MonotonicClock.sleep(ms: 20)
            }
            return json(500, #"{"error":"released from hang"}"#)
        }
        guard authorized(request) else { return json(401, #"{"error":"Unauthorized"}"#) }
        guard request.string("CONTENT_TYPE")?.hasPrefix("application/json") == true,
            let contact = JSONValue.parse(request.body), case .object(let fields) = contact
        else { return json(400, #"{"error":"Bad Request","message":"expected a JSON object"}"#) }
        var present: [String] = []
        for name in ["email", "phone", "externalCustomerId"] {
            guard let value = fields[name] else { continue }
            guard let text = value.stringValue else { return json(400, #"{"error":"Bad Request"}"#) }
            if !text.isEmpty { present.append(text) }
        }
        guard let key = present.first else {
            return json(400, #"{"error":"Bad Request","message":"email, phone or externalCustomerId is required"}"#)
        }
        if fault.kind == .token { return tokenAnswer(fault.token) }
        return tokenAnswer(present.contains { contacts.contains(Array($0.utf8)) } ? "sbx-\(key)-\(sequence)" : "")
    }

    /// eSputnik's `{"token":"…"}`, the token JSON-escaped.
    private func tokenAnswer(_ token: String) -> Response {
        var body = Array(#"{"token":"#.utf8)
        JSONString.append(token, to: &body)
        body.append(UInt8(ascii: "}"))
        return Response(status: 200, headers: [.init("Content-Type", "application/json")], body: body)
    }

    /// Basic auth with any user name and the sandbox's key as the password, as eSputnik checks it.
    private func authorized(_ request: Request) -> Bool {
        guard let credentials = BasicCredentials(request) else { return false }
        return apiKeys.contains(credentials.password)
    }

    /// The request as tests read it back from `/_sandbox/requests`.
    private func record(_ request: Request, sequence: Int) -> [UInt8] {
        var fields: [(String, String)] = [("sequence", String(sequence))]
        for (name, param) in [
            ("method", "REQUEST_METHOD"), ("uri", "REQUEST_URI"), ("content_type", "CONTENT_TYPE"),
            ("accept", "HTTP_ACCEPT"), ("user_agent", "HTTP_USER_AGENT"), ("authorization", "HTTP_AUTHORIZATION"),
            ("connection_id", "SANDBOX_CONNECTION"), ("ssl_session_reused", "SANDBOX_SSL_SESSION_REUSED"),
        ] {
            fields.append((name, request.string(param) ?? ""))
        }
        fields.append(("body", String(decoding: request.body, as: UTF8.self)))
        var json: [UInt8] = [UInt8(ascii: "{")]
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            JSONString.append(name, to: &json)
            json.append(UInt8(ascii: ":"))
            JSONString.append(value, to: &json)
        }
        json.append(UInt8(ascii: "}"))
        return json
    }
}
