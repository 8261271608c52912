import Testing

@testable import AppInbox

/// One row per way an exchange can end: the breaker, `status` and the browser each read it from
/// the type, never from a string.
@Suite("UpstreamFailure")
struct UpstreamFailureTests {
    @Test(
        arguments: [
            (UpstreamFailure.unavailable, true, "upstream_unavailable", 503, nil),
            (.timedOut, true, "upstream_timeout", 504, nil),
            (.badResponse, true, "bad_upstream_response", 502, nil),
            (.throttled(retryAfter: 30), false, "throttled", 503, 30),
            (.throttled(retryAfter: nil), false, "throttled", 503, nil),
            (.rejected, false, "upstream_rejected", 502, nil),
            (.refusedKey, false, "upstream_auth_failed", 502, nil),
            (.heldBack(retryAfter: 7), false, "held_back", 503, 7),
        ] as [(UpstreamFailure, Bool, String, Int, Int?)])
    func eachFailureKnowsItsBreakerLabelAndAnswer(
        _ failure: UpstreamFailure, _ opensBreaker: Bool, _ label: String, _ status: Int, _ retryAfter: Int?
    ) {
        #expect(failure.opensBreaker == opensBreaker)
        #expect(failure.metricLabel == label)
        #expect(failure.apiError.status == status)
        #expect(failure.apiError.retryAfter == retryAfter)
        #expect(ExchangeOutcome(result: .failure(failure)).opensBreaker == opensBreaker)
        #expect(ExchangeOutcome(result: .failure(failure)).metricLabel == label)
    }

    @Test func aTokenNeverOpensTheBreaker() {
        #expect(ExchangeOutcome(result: .success("tok")).metricLabel == "token")
        #expect(ExchangeOutcome(result: .success("")).metricLabel == "unknown_contact")
        #expect(!ExchangeOutcome(result: .success("")).opensBreaker)
    }

    @Test func theBrowserSeesTheWireCodesOfTheCatalog() {
        #expect(UpstreamFailure.throttled(retryAfter: 5).apiError.code == .upstreamUnavailable)
        #expect(UpstreamFailure.throttled(retryAfter: 5).apiError.response.header("Retry-After") == "5")
        #expect(UpstreamFailure.refusedKey.apiError.code == .upstreamAuthFailed)
        #expect(UpstreamFailure.timedOut.apiError.code == .upstreamTimeout)
    }
}
