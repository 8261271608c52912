import Testing

@testable import AppInbox

/// A token request with the given browser headers (as FastCGI params).
private func request(origin: String? = nil, fetchSite: String? = nil) -> Request {
    var headers: [String: String] = [:]
    headers["Origin"] = origin
    headers["Sec-Fetch-Site"] = fetchSite
    return Fixture.request(headers: headers, params: ["INBOX_EMAIL": "alice@example.com"])
}

private let shop = ["https://shop.example"]

@Suite("OriginCheck")
struct OriginCheckTests {
    @Test func crossSiteFetchIsRefusedWith403() throws {
        let error = try #require(OriginCheck.refusal(for: request(fetchSite: "cross-site"), allowedOrigins: []))
        #expect(error.status == 403)
        #expect(error.code.rawValue == "cross_site")
        #expect(error.retryAfter == nil)
        let response = error.response
        #expect(response.status == 403)
        let body = try #require(JSONValue.parse(response.body))
        #expect(body["error"]?.stringValue == "cross_site")
        #expect(body["message"]?.stringValue?.isEmpty == false)
    }

    @Test func crossSiteIsRefusedEvenFromAnAllowedOrigin() {
        #expect(
            OriginCheck.refusal(for: request(origin: "https://shop.example", fetchSite: "cross-site"), allowedOrigins: shop)?.code
                .rawValue == "cross_site")
    }

    @Test(arguments: ["same-origin", "same-site", "none"])
    func sameSiteFetchesAreAllowed(_ fetchSite: String) {
        #expect(OriginCheck.refusal(for: request(fetchSite: fetchSite), allowedOrigins: []) == nil)
        #expect(OriginCheck.refusal(for: request(origin: "https://shop.example", fetchSite: fetchSite), allowedOrigins: []) == nil)
    }

    @Test func noHeadersAtAllIsAllowed() {
        #expect(OriginCheck.refusal(for: request(), allowedOrigins: []) == nil)
        #expect(OriginCheck.refusal(for: request(), allowedOrigins: shop) == nil)
    }

    @Test func anyOriginIsAllowedWithoutAnAllowList() {
        #expect(OriginCheck.refusal(for: request(origin: "https://elsewhere.example"), allowedOrigins: []) == nil)
    }

    @Test func noOriginHeaderIsAllowedWithAnAllowList() {
        #expect(OriginCheck.refusal(for: request(fetchSite: "same-origin"), allowedOrigins: shop) == nil)
    }

    @Test(arguments: [
        "https://shop.example", "https://shop.example/", "HTTPS://SHOP.EXAMPLE", "https://Shop.Example//",
    ])
    func anAllowedOriginPassesAfterNormalisation(_ origin: String) {
        #expect(OriginCheck.refusal(for: request(origin: origin, fetchSite: "same-origin"), allowedOrigins: shop) == nil)
    }

    @Test func theAllowListCanHoldSeveralOriginsWithPorts() {
        let allowed = ["https://shop.example", "http://localhost:8080"]
        #expect(OriginCheck.refusal(for: request(origin: "http://localhost:8080"), allowedOrigins: allowed) == nil)
        #expect(OriginCheck.refusal(for: request(origin: "https://shop.example"), allowedOrigins: allowed) == nil)
        #expect(OriginCheck.refusal(for: request(origin: "http://localhost:8081"), allowedOrigins: allowed)?.code.rawValue == "cross_site")
        #expect(OriginCheck.refusal(for: request(origin: "http://localhost"), allowedOrigins: allowed)?.code.rawValue == "cross_site")
    }

    @Test(arguments: [
        "https://shop.example.evil.example", "https://evil-shop.example", "https://shop.example.evil", "https://xshop.example",
        "http://shop.example", "https://shop.example:8443", "https://sub.shop.example", "https://shop.exampl",
        "https://shop.example@evil.example", "https://evil.example/https://shop.example", "https://shop.example/path",
        "null", "", "shop.example", "ftp://shop.example", "https://shop.example?x", "https://shop.example#x",
    ])
    func otherOriginsAreRefusedWithAnAllowList(_ origin: String) {
        let error = OriginCheck.refusal(for: request(origin: origin, fetchSite: "same-site"), allowedOrigins: shop)
        #expect(error?.status == 403)
        #expect(error?.code.rawValue == "cross_site")
    }

    @Test(arguments: [
        ("https://shop.example", "https://shop.example"),
        ("HTTPS://Shop.Example:443/", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("https://shop.example:80", "https://shop.example:80"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://shop.example///", "https://shop.example"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://xn--80ak6aa92e.example", "https://xn--80ak6aa92e.example"),
    ])
    func normalizeLowercasesAndDropsTrailingSlashes(_ raw: String, _ normalized: String) {
        #expect(OriginCheck.normalize(raw) == normalized)
    }

    @Test(arguments: [
        "ftp://shop.example", "javascript://shop.example", "file:///etc/passwd", "ws://shop.example", "shop.example",
        "//shop.example", "https:shop.example", "https://", "https:///", "http://", "null", "", "/",
        "https://shop.example/path", "https://shop.example/a/b/", "https://shop.example?q=1", "https://shop.example#frag",
        "https://user@shop.example", "https://user:pass@shop.example", "https://shop example", " https://x.example",
    ])
    func normalizeRejectsWhatIsNotAnHTTPOrigin(_ raw: String) {
        #expect(OriginCheck.normalize(raw) == nil)
    }
}
