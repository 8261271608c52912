import Testing

@testable import AppInbox

private func settings(_ configure: (inout InitScriptSettings) -> Void = { _ in }) -> InitScriptSettings {
    var settings = InitScriptSettings()
    settings.languages = ["en", "uk"]
    settings.siteID = "site-1"
    configure(&settings)
    return settings
}

private func request(query: String = "", _ headers: [String: String] = [:], method: String = "GET") -> Request {
    Fixture.request(method: method, "/app-inbox/init.js" + (query.isEmpty ? "" : "?" + query), headers: headers)
}

@Suite("EntityTag")
struct EntityTagTests {
    @Test func strongTagIsTheQuotedHexSHA256() {
        #expect(EntityTag.strong(for: []) == "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"")
        #expect(
            EntityTag.strong(for: Array("abc".utf8))
                == "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"")
    }

    @Test(arguments: [
        #""abc""#, #"W/"abc""#, "*", #""x", "abc""#, #"  "x" ,W/"abc" "#, #""x",,"abc""#, #"bogus, "abc""#,
        #""a,b", "abc""#,
    ])
    func matches(_ header: String) {
        #expect(EntityTag.ifNoneMatch(header, matches: #""abc""#))
    }

    @Test(arguments: ["", #""abd""#, #""ABC""#, #"W/"ab""#, "abc", #""abc"#, #""x", "ab"#, #"w/"abc""#, #""*""#])
    func doesNotMatch(_ header: String) {
        #expect(!EntityTag.ifNoneMatch(header, matches: #""abc""#))
    }
}

@Suite("InitScriptCatalog")
struct InitScriptCatalogTests {
    let catalog = InitScriptCatalog(settings: settings(), basePath: "/app-inbox")!

    @Test func rendersEveryLanguageWithItsOwnTag() throws {
        #expect(Set(catalog.scripts.keys) == ["en", "uk"])
        let en = try #require(catalog.scripts["en"])
        let uk = try #require(catalog.scripts["uk"])
        #expect(en.etag != uk.etag)
        #expect(en.etag == EntityTag.strong(for: en.body))
        #expect(String(decoding: uk.body, as: UTF8.self).contains(#"language: "uk""#))
    }

    @Test func answersTheScriptWithCachingHeaders() throws {
        let response = catalog.response(to: request(["Accept-Language": "uk-UA,uk;q=0.9"]))
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/javascript; charset=utf-8")
        #expect(response.header("Cache-Control") == "public, max-age=300")
        #expect(response.header("Vary") == "Accept-Language")
        #expect(response.header("Content-Language") == "uk")
        #expect(response.header("ETag") == catalog.scripts["uk"]?.etag)
        #expect(response.body == catalog.scripts["uk"]?.body)
    }

    @Test func langParameterOverridesTheHeader() {
        let response = catalog.response(to: request(query: "lang=en", ["Accept-Language": "uk"]))
        #expect(response.header("Content-Language") == "en")
        #expect(
            catalog.response(to: request(query: "lang=xx", ["Accept-Language": "uk"])).header("Content-Language")
                == "uk")
    }

    @Test func matchingIfNoneMatchAnswers304WithoutABody() throws {
        let etag = try #require(catalog.scripts["en"]?.etag)
        for header in [etag, "W/" + etag, #""old", "# + etag, "*"] {
            let response = catalog.response(to: request(["If-None-Match": header]))
            #expect(response.status == 304, "\(header)")
            #expect(response.body.isEmpty)
            #expect(response.header("ETag") == etag)
            #expect(response.header("Cache-Control") == "public, max-age=300")
            #expect(response.header("Vary") == "Accept-Language")
        }
    }

    @Test func anotherLanguagesTagGetsTheFullScript() throws {
        let enTag = try #require(catalog.scripts["en"]?.etag)
        let response = catalog.response(to: request(["If-None-Match": enTag, "Accept-Language": "uk"]))
        #expect(response.status == 200)
        #expect(response.header("ETag") == catalog.scripts["uk"]?.etag)
    }

    @Test func maxAgeComesFromTheSettings() {
        let short = InitScriptCatalog(settings: settings { $0.maxAgeSeconds = 0 }, basePath: "")!
        #expect(short.response(to: request()).header("Cache-Control") == "public, max-age=0")
    }

    @Test func noSiteIDWithTheLoaderMeansNoCatalog() {
        #expect(InitScriptCatalog(settings: settings { $0.siteID = nil }, basePath: "/app-inbox") == nil)
        #expect(
            InitScriptCatalog(
                settings: settings {
                    $0.siteID = nil
                    $0.includesLoader = false
                }, basePath: "") != nil)
        let error = APIError.initScriptUnavailable
        #expect(error.status == 404)
        #expect(error.code.rawValue == "not_found")
        #expect(error.message.contains("APP_INBOX_SITE_ID"))
    }
}
