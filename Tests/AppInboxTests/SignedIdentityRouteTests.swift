import Glibc
import Testing

@testable import AppInbox

/// The token route with signed identity on: where the token is read, what wins, and what the
/// browser is told when it is refused.
@Suite("Signed identity on the token route")
struct SignedIdentityRouteTests {
    static let minter = TokenMinter()
    static let env = ["APP_INBOX_SIGNED_IDENTITY_KEYS": "/etc/app-inbox/keys.json"]
    static let files = ["/etc/app-inbox/keys.json": #"{"keys":[\#(minter.jwk(kid: "k1"))]}"#]

    static func app(upstream: [ScriptedUpstream.Step] = [.now(Fixture.ok("tok"))]) throws -> TestApp {
        try TestApp(env, files: files, upstream: upstream)
    }

    static func token(_ email: String) -> String { minter.token(email: email, now: WallClock.seconds()) }

    @Test func theCookieSignsTheUserIn() throws {
        let app = try Self.app(upstream: [.now(Fixture.ok("tok-alice"))])
        let answer = app.get("/app-inbox/token", headers: ["Cookie": "theme=dark; app_inbox_identity=\(Self.token("alice@example.com")); x=1"])
        #expect(answer.token == "tok-alice")
        #expect(app.upstream.calls.map(\.body) == [ContactIdentity(email: "alice@example.com").upstreamBody])
    }

    @Test func statusCountsTheTokens() throws {
        let app = try Self.app(upstream: [.now(Fixture.ok("t1")), .now(Fixture.ok("t2"))])
        let cookie = ["Cookie": "app_inbox_identity=\(Self.token("alice@example.com"))"]
        #expect(app.get("/app-inbox/token", headers: cookie).token == "t1")
        #expect(app.get("/app-inbox/token", headers: cookie).token == "t2")
        #expect(app.get("/app-inbox/token", headers: ["Cookie": "app_inbox_identity=e30.e30.e30"]).status == 401)
        let counts = app.status["signed_identity"]
        #expect(counts?["enabled"] == .bool(true))
        #expect(counts?["verified"] == .number(1))
        #expect(counts?["remembered"] == .number(1))
        #expect(counts?["refused"] == .number(1))
    }

    @Test func aBearerHeaderSignsTheUserIn() throws {
        let app = try Self.app(upstream: [.now(Fixture.ok("tok-bob"))])
        let answer = app.get("/app-inbox/token", headers: ["Authorization": "Bearer \(Self.token("bob@example.com"))"])
        #expect(answer.token == "tok-bob")
    }

    @Test func aServerSetIdentityWinsOverAToken() throws {
        let app = try Self.app(upstream: [.now(Fixture.ok("tok-carol"))])
        let answer = app.get(
            "/app-inbox/token", headers: ["Cookie": "app_inbox_identity=\(Self.token("mallory@example.com"))"],
            params: ["INBOX_EMAIL": "carol@example.com"])
        #expect(answer.token == "tok-carol")
        #expect(app.upstream.calls.map(\.body) == [ContactIdentity(email: "carol@example.com").upstreamBody])
    }

    @Test func refusalsSayWhyAndNeverReachESputnik() throws {
        let app = try Self.app()
        let none = app.get("/app-inbox/token", headers: ["Cookie": "theme=dark"])
        #expect(none.status == 401)
        #expect(none.error == "unauthenticated")
        #expect(none.json?["message"]?.stringValue?.contains("app_inbox_identity") == true)
        #expect(none.header("WWW-Authenticate") == #"Bearer realm="app-inbox""#)

        let stale = Self.minter.token(claims: #"{"email":"a@example.com","aud":"app-inbox","exp":\#(Int(WallClock.seconds()) - 120)}"#)
        let expired = app.get("/app-inbox/token", headers: ["Cookie": "app_inbox_identity=\(stale)"])
        #expect(expired.status == 401)
        #expect(expired.error == "identity_token_expired")

        var forged = Array(Self.token("alice@example.com").utf8)
        forged[forged.count - 3] ^= 0x01
        let tampered = app.get("/app-inbox/token", headers: ["Cookie": "app_inbox_identity=\(String(decoding: forged, as: UTF8.self))"])
        #expect(tampered.status == 401)
        #expect(tampered.error == "invalid_identity_token")
        #expect(tampered.response.body.count < 200, "the answer never echoes the token")
        #expect(tampered.header("WWW-Authenticate") == #"Bearer realm="app-inbox", error="invalid_token""#)

        let unsigned = Self.minter.token(claims: #"{"aud":"app-inbox","exp":\#(Int(WallClock.seconds()) + 60)}"#)
        let empty = app.get("/app-inbox/token", headers: ["Cookie": "app_inbox_identity=\(unsigned)"])
        #expect(empty.error == "invalid_identity_token")
        #expect(empty.json?["message"]?.stringValue?.contains("no email, phone or external_customer_id") == true)

        let badEmail = app.get("/app-inbox/token", headers: ["Cookie": "app_inbox_identity=\(Self.token("not-an-email"))"])
        #expect(badEmail.status == 400)
        #expect(badEmail.error == "invalid_identity")
        #expect(app.upstream.calls.isEmpty)
    }

    @Test func aCookieSentTwiceIsRefused() throws {
        // A sibling subdomain can add a second cookie of the same name (cookie tossing).
        let app = try Self.app()
        let answer = app.get(
            "/app-inbox/token",
            headers: ["Cookie": "app_inbox_identity=\(Self.token("eve@example.com")); app_inbox_identity=\(Self.token("alice@example.com"))"])
        #expect(answer.error == "invalid_identity_token")
        #expect(app.upstream.calls.isEmpty)
    }

    @Test func aSecondCookieHeaderIsRefused() throws {
        // nginx passes each Cookie: line as a param of its own; libfcgi answers the first only.
        let app = try Self.app()
        let answer = app.worker.respond(
            to: Request(orderedParams: [
                ("REQUEST_URI", "/app-inbox/token"), ("HTTP_COOKIE", "theme=dark"),
                ("HTTP_COOKIE", "app_inbox_identity=\(Self.token("alice@example.com"))"),
            ]))
        #expect(answer.status == 401)
        #expect(JSONValue.parse(answer.body)?["message"]?.stringValue?.contains("more than one Cookie header") == true)
        #expect(app.upstream.calls.isEmpty)
    }

    @Test func withSignedIdentityOffTheCookieIsIgnored() throws {
        let app = try TestApp()
        let answer = app.get("/app-inbox/token", headers: ["Cookie": "app_inbox_identity=\(Self.token("alice@example.com"))"])
        #expect(answer.error == "unauthenticated")
        #expect(answer.header("WWW-Authenticate") == nil, "no scheme to challenge with")
        #expect(app.upstream.calls.isEmpty)
    }

    @Test func aReloadRotatesTheKeys() throws {
        let app = try Self.app(upstream: [.now(Fixture.ok("t1")), .now(Fixture.ok("t2"))])
        let next = TokenMinter(secret: "the-next-secret-is-at-least-32-bytes-long")
        let cookie = ["Cookie": "app_inbox_identity=\(next.token(email: "alice@example.com", now: WallClock.seconds()))"]
        #expect(app.get("/app-inbox/token", headers: cookie).error == "invalid_identity_token")
        app.service.reload(try app.config([:], files: ["/etc/app-inbox/keys.json": #"{"keys":[\#(next.jwk(kid: "k2"))]}"#]))
        #expect(app.get("/app-inbox/token", headers: cookie).token == "t1")
        let old = ["Cookie": "app_inbox_identity=\(Self.token("alice@example.com"))"]
        #expect(app.get("/app-inbox/token", headers: old).error == "invalid_identity_token")
    }

    @Test func configurationProblemsNameTheVariable() {
        let problems = Fixture.problems(
            Fixture.environment([
                "APP_INBOX_SIGNED_IDENTITY_KEYS": "/missing.json", "APP_INBOX_SIGNED_IDENTITY_SECRET_FILE": "/short",
                "APP_INBOX_SIGNED_IDENTITY_COOKIE": "a b", "APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S": "5",
            ]), files: ["/short": "tooshort\n"])
        #expect(
            problems.map(\.variable).sorted() == [
                "APP_INBOX_SIGNED_IDENTITY_COOKIE", "APP_INBOX_SIGNED_IDENTITY_KEYS", "APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S",
                "APP_INBOX_SIGNED_IDENTITY_SECRET_FILE",
            ])
        #expect(problems.contains { $0.description.contains("at least 32 bytes; this one has 8") })
    }

    @Test func theIdentityClaimsCanBeRenamed() throws {
        // An identity provider's token: the site's customer id in `sub`, the email in `mail`.
        let app = try TestApp(
            Self.env.merging([
                "APP_INBOX_SIGNED_IDENTITY_EXTERNAL_ID_CLAIM": "sub", "APP_INBOX_SIGNED_IDENTITY_EMAIL_CLAIM": "mail",
            ]) { _, new in new }, files: Self.files, upstream: [.now(Fixture.ok("tok-42"))])
        let now = Int(WallClock.seconds())
        let token = Self.minter.token(
            claims: #"{"sub":"customer-42","mail":"dave@example.com","email":"eve@example.com","aud":"app-inbox","exp":\#(now + 60)}"#)
        #expect(app.get("/app-inbox/token", headers: ["Cookie": "app_inbox_identity=\(token)"]).token == "tok-42")
        #expect(app.upstream.calls.map(\.body) == [ContactIdentity(email: "dave@example.com", externalCustomerId: "customer-42").upstreamBody])
        let problems = Fixture.problems(
            Fixture.environment(["APP_INBOX_SIGNED_IDENTITY_PHONE_CLAIM": "exp"]))
        #expect(problems.map(\.variable).sorted() == ["APP_INBOX_SIGNED_IDENTITY_PHONE_CLAIM"])
        #expect(
            Fixture.problems(Fixture.environment(["APP_INBOX_SIGNED_IDENTITY_EMAIL_CLAIM": "phone"])).map(\.variable) == [
                "APP_INBOX_SIGNED_IDENTITY_EMAIL_CLAIM"
            ])
    }

    @Test func theSecretFileIsTrimmed() throws {
        let secret = "a-test-secret-of-at-least-32-bytes!!"
        let config = try Fixture.config(["APP_INBOX_SIGNED_IDENTITY_SECRET_FILE": "/s"], files: ["/s": "  \(secret)\n"])
        let verifier = try #require(config.signedIdentityVerifier)
        #expect(throws: Never.self) {
            try verifier.verify(
                Array(TokenMinter(secret: secret).token(email: "a@example.com", now: WallClock.seconds()).utf8)[...], now: WallClock.seconds())
        }
    }
}
