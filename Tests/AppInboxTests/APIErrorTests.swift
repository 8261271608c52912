import Testing

@testable import AppInbox

@Suite("APIError.response")
struct APIErrorTests {
    static let all: [APIError] = [
        .invalidIdentity("The email is malformed."), .unauthenticated, .notFound, .methodNotAllowed(allow: "GET, POST"),
        .upstreamRejected, .upstreamAuthFailed, .badUpstreamResponse, .upstreamUnavailable(),
        .upstreamUnavailable(retryAfter: 12), .upstreamTimeout,
    ]

    @Test(arguments: APIErrorTests.all)
    func bodyIsErrorAndMessageJSON(_ error: APIError) throws {
        let response = error.response
        #expect(response.status == error.status)
        let json = try #require(JSONValue.parse(response.body))
        #expect(json == .object(["error": .string(error.code), "message": .string(error.message)]))
        #expect(!error.message.isEmpty)
    }

    @Test(arguments: APIErrorTests.all)
    func carriesNoStoreHeaders(_ error: APIError) {
        let response = error.response
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("Cache-Control") == "no-store, private")
        #expect(response.header("X-Content-Type-Options") == "nosniff")
    }

    @Test func statusesAndCodesOfTheContract() {
        let expected: [(APIError, Int, String)] = [
            (.invalidIdentity("x"), 400, "invalid_identity"), (.unauthenticated, 401, "unauthenticated"),
            (.notFound, 404, "not_found"), (.methodNotAllowed(allow: "GET"), 405, "method_not_allowed"),
            (.upstreamRejected, 502, "upstream_rejected"), (.upstreamAuthFailed, 502, "upstream_auth_failed"),
            (.badUpstreamResponse, 502, "bad_upstream_response"), (.upstreamUnavailable(), 503, "upstream_unavailable"),
            (.upstreamTimeout, 504, "upstream_timeout"),
        ]
        for (error, status, code) in expected {
            #expect(error.status == status, "\(code)")
            #expect(error.code == code)
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
        let error = APIError(status: 400, code: "invalid_identity", message: "quote \" backslash \\ </script> \u{2028} \n")
        let body = error.response.body
        let json = try #require(JSONValue.parse(body))
        #expect(json["message"] == .string(error.message))
        #expect(!String(decoding: body, as: UTF8.self).contains("</"))
    }

    @Test func headerLookupIsCaseInsensitive() {
        #expect(APIError.notFound.response.header("content-type") == "application/json")
    }
}
