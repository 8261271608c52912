import Testing

@testable import AppInbox

/// The route a web server's params lead to, as the worker finds it.
private func route(_ params: [String: String], basePath: String = "/app-inbox") -> Route? {
    Route.match(path: RequestTarget.path(of: Request(params: params)), basePath: basePath)
}

@Suite("Route.match")
struct RouteMatchTests {
    @Test func matchesEachRouteUnderTheDefaultBase() {
        #expect(Route.match(path: "/app-inbox/token", basePath: "/app-inbox") == .token)
        #expect(Route.match(path: "/app-inbox/healthz", basePath: "/app-inbox") == .healthz)
    }

    @Test func customBasePath() {
        #expect(Route.match(path: "/api/v2/inbox/token", basePath: "/api/v2/inbox") == .token)
        #expect(Route.match(path: "/app-inbox/token", basePath: "/api/v2/inbox") == nil)
    }

    @Test func rootBasePath() {
        #expect(Route.match(path: "/token", basePath: "") == .token)
        #expect(Route.match(path: "/healthz", basePath: "") == .healthz)
        #expect(Route.match(path: "/app-inbox/token", basePath: "") == nil)
        #expect(Route.match(path: "token", basePath: "") == nil)
        #expect(Route.match(path: "/", basePath: "") == nil)
    }

    @Test(arguments: [
        "/app-inboxtoken", "/app-inbox/token/extra", "/app-inbox/token/", "/app-inbox//token", "/app-inbox",
        "/app-inbox/", "/app-inbox/Token", "/app-inbox/tokens", "/x/app-inbox/token", "/app-inbox.token",
        "", "/token",
    ])
    func lookAlikesAreNotRoutes(_ path: String) {
        #expect(Route.match(path: Substring(path), basePath: "/app-inbox") == nil)
    }

    @Test func allowedMethods() {
        #expect(Route.token.allowedMethods == ["GET", "POST"])
        #expect(Route.healthz.allowedMethods.contains("GET"))
        #expect(!Route.token.allowedMethods.contains("PUT"))
    }
}

@Suite("RequestTarget.path")
struct RequestTargetPathTests {
    @Test func nginxRequestURIWithQuery() {
        let params = [
            "REQUEST_URI": "/app-inbox/token?fresh=1", "DOCUMENT_URI": "/app-inbox/token", "SCRIPT_NAME": "/app-inbox/token",
        ]
        #expect(RequestTarget.path(of: Request(params: params)) == "/app-inbox/token")
        #expect(route(params) == .token)
    }

    @Test func requestURIWinsOverTheOthers() {
        let params = ["REQUEST_URI": "/app-inbox/healthz", "DOCUMENT_URI": "/app-inbox/token", "SCRIPT_NAME": "/app-inbox/token"]
        #expect(route(params) == .healthz)
    }

    @Test func requestURIFragmentIsNotPartOfThePath() {
        #expect(RequestTarget.path(of: Request(params: ["REQUEST_URI": "/app-inbox/token#x"])) == "/app-inbox/token")
    }

    @Test func apacheDocumentURIWithoutRequestURI() {
        let params = ["DOCUMENT_URI": "/app-inbox/token", "SCRIPT_NAME": "/something-else"]
        #expect(RequestTarget.path(of: Request(params: params)) == "/app-inbox/token")
        #expect(route(params) == .token)
    }

    @Test func emptyRequestURIFallsBack() {
        #expect(route(["REQUEST_URI": "", "DOCUMENT_URI": "/app-inbox/token"]) == .token)
        #expect(route(["REQUEST_URI": "", "DOCUMENT_URI": "", "SCRIPT_NAME": "/app-inbox", "PATH_INFO": "/healthz"]) == .healthz)
    }

    @Test func scriptNamePlusPathInfo() {
        let params = ["SCRIPT_NAME": "/app-inbox", "PATH_INFO": "/token"]
        #expect(RequestTarget.path(of: Request(params: params)) == "/app-inbox/token")
        #expect(route(params) == .token)
    }

    @Test func scriptNameWithEmptyPathInfo() {
        #expect(route(["SCRIPT_NAME": "/app-inbox/token", "PATH_INFO": ""]) == .token)
        #expect(route(["SCRIPT_NAME": "/app-inbox/token"]) == .token)
    }

    @Test func customAndRootBasePathsThroughEveryServerStyle() {
        #expect(route(["REQUEST_URI": "/inbox/token?x=1"], basePath: "/inbox") == .token)
        #expect(route(["DOCUMENT_URI": "/inbox/token"], basePath: "/inbox") == .token)
        #expect(route(["SCRIPT_NAME": "/inbox", "PATH_INFO": "/token"], basePath: "/inbox") == .token)
        #expect(route(["REQUEST_URI": "/token?fresh=1"], basePath: "") == .token)
        #expect(route(["SCRIPT_NAME": "", "PATH_INFO": "/token"], basePath: "") == .token)
    }

    @Test func lookAlikesThroughEveryServerStyle() {
        #expect(route(["REQUEST_URI": "/app-inboxtoken"]) == nil)
        #expect(route(["REQUEST_URI": "/app-inbox/token/extra?x=1"]) == nil)
        #expect(route(["SCRIPT_NAME": "/app-inbox", "PATH_INFO": "/token/extra"]) == nil)
        #expect(route(["SCRIPT_NAME": "/app-inbox/token", "PATH_INFO": "/extra"]) == nil)
        #expect(route(["DOCUMENT_URI": "/app-inboxtoken"]) == nil)
    }

    /// The params real Apache 2.4 sent for `GET /app-inbox/token?fresh=1` with the apache/ examples:
    /// only REQUEST_URI names the route in all three (mod_rewrite points SCRIPT_NAME at the CGI script).
    @Test(arguments: [
        ["REQUEST_URI": "/app-inbox/token?fresh=1", "SCRIPT_NAME": "/app-inbox/token"],  // mod_proxy_fcgi
        ["REQUEST_URI": "/app-inbox/token?fresh=1", "SCRIPT_NAME": "/app-inbox", "PATH_INFO": "/token"],  // mod_fcgid
        ["REQUEST_URI": "/app-inbox/token?fresh=1", "SCRIPT_NAME": "/app-inbox/app-inbox.cgi"],  // .htaccess CGI
    ])
    func apacheParamsAsSent(_ params: [String: String]) {
        #expect(route(params) == .token)
    }

    @Test func noPathParamsIsNoRoute() {
        #expect(RequestTarget.path(of: Request(params: [:])) == "")
        #expect(route([:]) == nil)
    }
}

@Suite("RequestTarget.query")
struct RequestTargetQueryTests {
    @Test func fromQueryString() {
        let query = RequestTarget.query(of: Request(params: ["QUERY_STRING": "lang=uk&fresh=1", "REQUEST_URI": "/x?lang=de"]))
        #expect(query["lang"] == "uk")
        #expect(query["fresh"] == "1")
    }

    @Test func fallsBackToRequestURI() {
        let query = RequestTarget.query(of: Request(params: ["REQUEST_URI": "/app-inbox/token?fresh=1&lang=pt%2DBR"]))
        #expect(query["fresh"] == "1")
        #expect(query["lang"] == "pt-BR")
    }

    @Test func noQueryAnywhere() {
        #expect(RequestTarget.query(of: Request(params: ["REQUEST_URI": "/app-inbox/token"])).items.isEmpty)
        #expect(RequestTarget.query(of: Request(params: [:])).items.isEmpty)
        #expect(RequestTarget.query(of: Request(params: ["REQUEST_URI": "/app-inbox/token?"])).items.isEmpty)
    }
}
