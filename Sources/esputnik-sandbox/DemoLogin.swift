import CCrypto
import ResponderCore

/// The demo site's sign-in, which the sandbox serves beside eSputnik's endpoint so that `make run`
/// needs no other process. Demo only: fixed users, no passwords for the cookie sign-in.
///
/// - `/_demo/login?email=E&lang=xx` (GET or a POSTed form): sets a session cookie signed with
///   HMAC-SHA256 under a per-process key, then redirects to `/` (keeping `lang`). Given the
///   identity secret, it also sets the signed identity cookie that app-inbox-fcgi verifies
///   (README.md "Signed identity"), as examples/signed-identity/ shows a site doing at login.
/// - `/_demo/logout`: clears the cookies, redirects to `/`.
/// - `/_demo/session`: nginx's `auth_request` target; always 204, with `X-Inbox-Email` when the
///   request carries a valid session cookie or HTTP Basic auth `E:demo` (the README's curl lines).
///   The token route then gets no identity for a visitor who is not signed in and answers its own
///   401, which the init script turns into an empty token.
struct DemoLogin: Sendable {
    /// The demo's users: alice is a contact the sandbox knows, stranger is not.
    static let users: Set<String> = ["alice@example.com", "stranger@example.com"]
    /// The Basic-auth password of every demo user.
    static let password = "demo"
    static let cookieName = "demo_session"

    /// The signed identity cookie and how long its token lives.
    static let identityCookieName = "app_inbox_identity"
    static let identityLifetimeSeconds = 3600

    private let secret: [UInt8]
    /// The HS256 secret shared with app-inbox-fcgi, when the demo runs in signed identity mode.
    private let identitySecret: [UInt8]?

    /// Draws the cookie-signing key; cookies do not outlive the process.
    init(identitySecret: [UInt8]? = nil) {
        var bytes = [UInt8](repeating: 0, count: 32)
        // Without randomness the demo could not sign anything safely; there is nothing to fall back to.
        precondition(RAND_bytes(&bytes, Int32(bytes.count)) == 1, "RAND_bytes failed")
        secret = bytes
        self.identitySecret = identitySecret
    }

    /// Answers `/_demo/…` paths.
    func respond(to request: Request, path: Substring) -> Response {
        let form =
            request.method == "POST"
            ? Query(String(decoding: request.body, as: UTF8.self)) : RequestTarget.query(of: request)
        switch path {
        case "/_demo/login":
            guard let email = form["email"], Self.isUser(email) else {
                return plain(400, "unknown demo user; use one of \(Self.users.sorted().joined(separator: ", "))")
            }
            guard let signed = signature(email) else { return plain(500, "cannot sign the session cookie") }
            var cookies = ["\(Self.cookieName)=\(email):\(signed); Path=/; HttpOnly; SameSite=Lax; Max-Age=86400"]
            if let identitySecret {
                guard let token = Self.identityToken(email: email, secret: identitySecret) else {
                    return plain(500, "cannot sign the identity token")
                }
                // Secure is left out only because the demo is plain HTTP on 127.0.0.1.
                cookies.append(
                    "\(Self.identityCookieName)=\(token); Path=/app-inbox/; HttpOnly; SameSite=Lax; "
                        + "Max-Age=\(Self.identityLifetimeSeconds)")
            }
            return redirect(lang: form["lang"], cookies: cookies)
        case "/_demo/logout":
            var cookies = ["\(Self.cookieName)=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"]
            if identitySecret != nil {
                cookies.append("\(Self.identityCookieName)=; Path=/app-inbox/; HttpOnly; SameSite=Lax; Max-Age=0")
            }
            return redirect(lang: form["lang"], cookies: cookies)
        case "/_demo/session":
            var headers: [Response.Header] = [.init("Cache-Control", "no-store")]
            if let email = signedInUser(request) { headers.append(.init("X-Inbox-Email", email)) }
            return Response(status: 204, headers: headers)
        default:
            return plain(404, "not found")
        }
    }

    /// The user of a valid session cookie, else of valid Basic auth, else nil.
    func signedInUser(_ request: Request) -> String? {
        if let cookies = request.string("HTTP_COOKIE") {
            for pair in cookies.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard trimmed.hasPrefix(Self.cookieName + "=") else { continue }
                let value = trimmed.dropFirst(Self.cookieName.count + 1)
                guard let colon = value.lastIndex(of: ":") else { continue }
                let email = String(value[..<colon])
                if Self.isUser(email), let expected = signature(email),
                    constantTimeEqual(String(value[value.index(after: colon)...]), expected)
                {
                    return email
                }
            }
        }
        if let credentials = BasicCredentials(request), Self.isUser(credentials.user),
            credentials.password == Self.password
        {
            return credentials.user
        }
        return nil
    }

    /// Whether `name` is a demo user, byte for byte (`String` equality is canonical equivalence).
    static func isUser(_ name: String) -> Bool {
        users.contains { $0.utf8.elementsEqual(name.utf8) }
    }

    /// Hex HMAC-SHA256 of the email under this process's key; nil when OpenSSL fails, so that a
    /// failure can never produce a digest (of zeros) that every cookie would match.
    func signature(_ email: String) -> String? {
        Self.hmacSHA256(key: secret, Array(email.utf8)).map(Hex.encode)
    }

    /// An HS256 identity token for `email` (RFC 7515 compact form), valid for an hour: what a
    /// site's backend issues at login; nil when OpenSSL fails.
    static func identityToken(email: String, secret: [UInt8], now: Int = Int(WallClock.seconds())) -> String? {
        var claims = Array(#"{"email":"#.utf8)
        JSONString.append(email, to: &claims)
        claims += Array(#","aud":"app-inbox","iat":\#(now),"exp":\#(now + identityLifetimeSeconds)}"#.utf8)
        let input = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(claims)
        return hmacSHA256(key: secret, Array(input.utf8)).map { input + "." + Base64URL.encode($0) }
    }

    /// HMAC-SHA256 of `message`; nil when OpenSSL fails.
    private static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8]? {
        var digest = [UInt8](repeating: 0, count: 32)
        return ccrypto_hmac_sha256_once(key, key.count, message, message.count, &digest) == 1 ? digest : nil
    }

    private func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let (a, b) = (Array(lhs.utf8), Array(rhs.utf8))
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// 303 to the demo page, keeping a two-letter `lang` (anything else is dropped, not echoed).
    private func redirect(lang: String?, cookies: [String]) -> Response {
        var location = "/"
        if let lang, lang.utf8.count == 2, lang.utf8.allSatisfy({ (0x61...0x7A).contains($0) }) {
            location += "?lang=" + lang
        }
        return Response(
            status: 303,
            headers: [.init("Location", location)] + cookies.map { .init("Set-Cookie", $0) } + [
                .init("Cache-Control", "no-store")
            ])
    }

    private func plain(_ status: Int, _ text: String) -> Response {
        Response(
            status: status, headers: [.init("Content-Type", "text/plain; charset=utf-8")],
            body: Array((text + "\n").utf8))
    }
}
