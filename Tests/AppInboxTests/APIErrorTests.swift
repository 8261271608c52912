import Testing

@testable import AppInbox

@Suite("APIError.response")
struct APIErrorTests {
    static let all: [APIError] = [
        .invalidIdentity("The email is malformed."), .unauthenticated, .identityTokenExpired("The identity token expired."),
        .invalidIdentityToken("The identity token was refused: its signature does not verify."), .notFound, .methodNotAllowed(allow: "GET, POST"),
        .upstreamRejected, .upstreamAuthFailed, .badUpstreamResponse, .upstreamUnavailable(),
        .upstreamUnavailable(retryAfter: 12), .upstreamTimeout,
    ]

    @Test(arguments: APIErrorTests.all)
    func bodyIsErrorAndMessageJSON(_ error: APIError) throws {
        let response = error.response
        #expect(response.status == error.status)
        let json = try #require(JSONValue.parse(response.body))
        #expect(json == .object(["error": .string(error.code.rawValue), "message": .string(error.message)]))
        #expect(!error.message.isEmpty)
    }

    @Test(arguments: APIErrorTests.all)
    func carriesNoStoreHeaders(_ error: APIError) {
        let response = error.response
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("Cache-Control") == "no-store, private")
        #expect(response.header("X-Content-Type-Options") == "nosniff")
    }

    /// The catalog's wire codes, as README's error table lists them: renaming one breaks sites.
    @Test func theCatalogIsTheContract() {
        #expect(
            APIError.Code.allCases.map(\.rawValue) == [
                "invalid_identity", "unauthenticated", "identity_token_expired", "invalid_identity_token", "cross_site", "not_found",
                "method_not_allowed", "rate_limited",
                "identity_param_repeated", "upstream_rejected", "upstream_auth_failed", "bad_upstream_response",
                "upstream_unavailable", "upstream_timeout",
            ])
    }

    @Test func statusesAndCodesOfTheContract() {
        let expected: [(APIError, Int, String)] = [
            (.invalidIdentity("x"), 400, "invalid_identity"), (.unauthenticated, 401, "unauthenticated"),
            (.identityTokenExpired("x"), 401, "identity_token_expired"), (.invalidIdentityToken("x"), 401, "invalid_identity_token"),
            (.notFound, 404, "not_found"), (.methodNotAllowed(allow: "GET"), 405, "method_not_allowed"),
            (.upstreamRejected, 502, "upstream_rejected"), (.upstreamAuthFailed, 502, "upstream_auth_failed"),
            (.badUpstreamResponse, 502, "bad_upstream_response"), (.upstreamUnavailable(), 503, "upstream_unavailable"),
            (.upstreamTimeout, 504, "upstream_timeout"),
        ]
        for (error, status, code) in expected {
            #expect(error.status == status, "\(code)")
            #expect(error.code.rawValue == code)
        }
    }

    @Test func retryAfterHeaderOnlyWhenKnown() {
        #expect(APIError.upstreamUnavailable(retryAfter: 12).response.header("Retry-After") == "12")
        #expect(APIError.upstreamUnavailable().response.header("Retry-After") == nil)
        #expect(APIError.upstreamTimeout.response.header("Retry-After") == nil)
    }

    @Test func allowHeaderOn405() {
        let response = APIError.methodNotAllowed(allow: "GET, POST").response
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET, POST")
        #expect(APIError.notFound.response.header("Allow") == nil)
    }

    @Test func messageIsEscapedIntoValidJSON() throws {
        let error = APIError(status: 400, code: .invalidIdentity, message: "quote \" backslash \\ </script> \u{2028} \n")
        let body = error.response.body
        let json = try #require(JSONValue.parse(body))
        #expect(json["message"] == .string(error.message))
        #expect(!String(decoding: body, as: UTF8.self).contains("</"))
    }

    @Test func headerLookupIsCaseInsensitive() {
        #expect(APIError.notFound.response.header("content-type") == "application/json")
    }
}
