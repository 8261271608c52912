import Testing

@testable import AppInbox

private func answered(_ status: Int, _ body: String, retryAfter: Int? = nil) -> UpstreamAttempt {
    .answered(status: status, body: Array(body.utf8), retryAfter: retryAfter)
}

/// What the browser is told for a verdict's failure, whether final or retryable.
private func apiError(of verdict: AttemptVerdict) -> APIError? {
    switch verdict {
    case .token: nil
    case .fail(let failure), .retry(let failure): failure.apiError
    }
}

@Suite("UpstreamAttempt.verdict")
struct UpstreamAttemptVerdictTests {
    @Test func tokenIsPassedOn() {
        #expect(answered(200, #"{"token":"eyJhbGciOi.abc.def"}"#).verdict == .token("eyJhbGciOi.abc.def"))
        #expect(answered(200, #" { "other": 1, "token" : "t" } "#).verdict == .token("t"))
    }

    @Test func emptyTokenMeansUnknownContact() {
        #expect(answered(200, #"{"token":""}"#).verdict == .token(""))
    }

    @Test func escapedTokenIsDecoded() {
        #expect(answered(200, #"{"token":"a\"b\\c\u00e9\/"}"#).verdict == .token("a\"b\\cé/"))
    }

    @Test(arguments: [
        #"{"token":123}"#, #"{"token":null}"#, #"{"token":["t"]}"#, #"{"token":true}"#, #"{}"#,
        #"{"Token":"t"}"#, "not json", "", #"["token"]"#, #"[{"token":"t"}]"#, #""token""#,
        #"{"token":"t"} trailing"#, #"{"token":"t""#, "<html>502 Bad Gateway</html>",
    ])
    func okWithoutStringTokenIsBadUpstreamResponse(_ body: String) {
        let verdict = answered(200, body).verdict
        #expect(verdict == .fail(.badResponse))
        #expect(apiError(of: verdict)?.status == 502)
        #expect(apiError(of: verdict)?.code.rawValue == "bad_upstream_response")
    }

    @Test func badRequestIsUpstreamRejected() {
        let verdict = answered(400, #"{"error":"no contact fields"}"#).verdict
        #expect(verdict == .fail(.rejected))
        #expect(apiError(of: verdict)?.status == 502)
        #expect(apiError(of: verdict)?.code.rawValue == "upstream_rejected")
    }

    @Test(arguments: [401, 403])
    func authFailureIsUpstreamAuthFailed(_ status: Int) {
        let verdict = answered(status, "Unauthorized").verdict
        #expect(verdict == .fail(.refusedKey))
        #expect(apiError(of: verdict)?.status == 502)
        #expect(apiError(of: verdict)?.code.rawValue == "upstream_auth_failed")
    }

    @Test func tooManyRequestsIsUnavailableWithRetryAfter() {
        let verdict = answered(429, "slow down", retryAfter: 30).verdict
        guard case .fail(let failure) = verdict else {
            Issue.record("429 should not be retried inside the request: \(verdict)")
            return
        }
        #expect(failure == .throttled(retryAfter: 30))
        #expect(!failure.opensBreaker)
        let error = failure.apiError
        #expect(error.status == 503)
        #expect(error.code.rawValue == "upstream_unavailable")
        #expect(error.retryAfter == 30)
        #expect(error.response.header("Retry-After") == "30")
    }

    @Test func tooManyRequestsWithoutRetryAfter() {
        let verdict = answered(429, "").verdict
        #expect(verdict == .fail(.throttled(retryAfter: nil)))
        #expect(apiError(of: verdict)?.response.header("Retry-After") == nil)
    }

    @Test(arguments: [500, 502, 503, 504, 599])
    func serverErrorsAreRetried(_ status: Int) {
        let verdict = answered(status, "oops").verdict
        #expect(verdict == .retry(.unavailable))
        #expect(apiError(of: verdict)?.status == 503)
        #expect(apiError(of: verdict)?.code.rawValue == "upstream_unavailable")
    }

    @Test func timeoutIsRetriedAsUpstreamTimeout() {
        let verdict = UpstreamAttempt.timedOut.verdict
        #expect(verdict == .retry(.timedOut))
        #expect(apiError(of: verdict)?.status == 504)
        #expect(apiError(of: verdict)?.code.rawValue == "upstream_timeout")
    }

    @Test func connectionFailureIsRetried() {
        let verdict = UpstreamAttempt.connectionFailed("Couldn't connect to server").verdict
        #expect(verdict == .retry(.unavailable))
        #expect(apiError(of: verdict)?.status == 503)
    }

    @Test func oversizedBodyIsBadUpstreamResponse() {
        #expect(UpstreamAttempt.bodyTooLarge.verdict == .fail(.badResponse))
        #expect(UpstreamAttempt.maxBodyBytes == 64 * 1024)
    }

    @Test(arguments: [201, 204, 301, 302, 304, 404, 405, 418, 499])
    func otherStatusesAreBadUpstreamResponse(_ status: Int) {
        let verdict = answered(status, #"{"token":"t"}"#).verdict
        #expect(verdict == .fail(.badResponse))
        #expect(apiError(of: verdict)?.status == 502)
    }

    @Test func failureThatRetryCannotFixIsNotRetried() {
        guard case .fail(let failure) = UpstreamAttempt.failed("SSL peer certificate was not OK").verdict else {
            Issue.record("a TLS verification failure must not be retried")
            return
        }
        let error = failure.apiError
        #expect(error.status >= 500)
        #expect(!error.message.contains("certificate"))
    }

    @Test func statusIsReportedOnlyForAnswers() {
        #expect(answered(503, "").status == 503)
        #expect(UpstreamAttempt.timedOut.status == nil)
        #expect(UpstreamAttempt.bodyTooLarge.status == nil)
        #expect(UpstreamAttempt.connectionFailed("x").status == nil)
    }

    @Test func upstreamBodyNeverReachesTheClient() {
        let secret = "UPSTREAM-BODY-DETAIL api_key=sk_live_123"
        let attempts: [UpstreamAttempt] = [
            answered(200, secret), answered(200, #"{"token":1,"detail":"\#(secret)"}"#), answered(400, secret),
            answered(401, secret), answered(403, secret), answered(404, secret), answered(429, secret),
            answered(500, secret), answered(502, secret), .failed(secret), .connectionFailed(secret),
        ]
        for attempt in attempts {
            guard let error = apiError(of: attempt.verdict) else {
                Issue.record("\(attempt) gave a token")
                continue
            }
            let response = String(decoding: error.response.body, as: UTF8.self)
            #expect(!response.contains("UPSTREAM-BODY-DETAIL"))
            #expect(!response.contains("sk_live_123"))
            #expect(!error.message.contains("UPSTREAM-BODY-DETAIL"))
        }
    }
}
