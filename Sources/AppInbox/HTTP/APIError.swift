/// An error answer of the API: an HTTP status and the JSON `{"error", "message"}` shape.
public struct APIError: Error, Sendable, Equatable {
    /// The HTTP status sent to the client.
    public var status: Int
    /// The stable machine-readable code, e.g. `invalid_identity`.
    public var code: Code
    /// A human-readable explanation; never contains secrets or upstream bodies.
    public var message: String
    /// Seconds for a `Retry-After` header, when known.
    public var retryAfter: Int?
    /// Methods for an `Allow` header on 405.
    public var allow: String?
    /// A `WWW-Authenticate` challenge on 401 (RFC 7235 §4.1), where a scheme applies.
    public var challenge: String?

    /// Creates an error answer.
    public init(
        status: Int, code: Code, message: String, retryAfter: Int? = nil, allow: String? = nil, challenge: String? = nil
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.allow = allow
        self.challenge = challenge
    }

    /// The JSON answer for this error.
    public var response: Response {
        var body: [UInt8] = []
        body.append(contentsOf: #"{"error":"#.utf8)
        JSONString.append(code.rawValue, to: &body)
        body.append(contentsOf: #","message":"#.utf8)
        JSONString.append(message, to: &body)
        body.append(UInt8(ascii: "}"))
        var response = Response.json(status: status, body)
        if let retryAfter { response.headers.append(.init("Retry-After", String(retryAfter))) }
        if let allow { response.headers.append(.init("Allow", allow)) }
        if let challenge { response.headers.append(.init("WWW-Authenticate", challenge)) }
        return response
    }
}

extension APIError {
    /// Every error code the API answers with, in one place; the raw value is what a client reads
    /// in `"error"` (README's error table lists the same).
    public enum Code: String, Sendable, CaseIterable {
        /// 400: an identity param is present but malformed.
        case invalidIdentity = "invalid_identity"
        /// 401: no identity: the user is not signed in.
        case unauthenticated
        /// 401: the signed identity token has expired or is not valid yet.
        case identityTokenExpired = "identity_token_expired"
        /// 401: the signed identity token was refused (signature, algorithm, format, audience,
        /// issuer, size or lifetime).
        case invalidIdentityToken = "invalid_identity_token"
        /// 403: a cross-site request, or an Origin outside APP_INBOX_ALLOWED_ORIGINS.
        case crossSite = "cross_site"
        /// 404: no such route (or init.js without a site id).
        case notFound = "not_found"
        /// 405: the route does not take this method.
        case methodNotAllowed = "method_not_allowed"
        /// 429: this user asked too often.
        case rateLimited = "rate_limited"
        /// 500: the web server sent an identity param twice.
        case identityParamRepeated = "identity_param_repeated"
        /// 502: eSputnik refused the request itself (its 400).
        case upstreamRejected = "upstream_rejected"
        /// 502: eSputnik refused the API key (its 401/403).
        case upstreamAuthFailed = "upstream_auth_failed"
        /// 502: eSputnik answered something that is not a token.
        case badUpstreamResponse = "bad_upstream_response"
        /// 503: eSputnik is down, pacing us, or the breaker or the cap holds calls back.
        case upstreamUnavailable = "upstream_unavailable"
        /// 504: eSputnik did not answer within the deadline.
        case upstreamTimeout = "upstream_timeout"
    }

    /// 400: an identity param is present but malformed; `message` says which and how.
    public static func invalidIdentity(_ message: String) -> APIError {
        APIError(status: 400, code: .invalidIdentity, message: message)
    }

    /// A configured identity param arrived more than once: the web server's configuration lets
    /// two values compete (under nginx, often a client's Basic-auth name in `REMOTE_USER`), so no
    /// identity is trusted and nothing goes upstream.
    public static func repeatedIdentityParam(_ name: String) -> APIError {
        APIError(
            status: 500, code: .identityParamRepeated,
            message: "The web server sent the identity param \(name) more than once; fix its configuration.")
    }

    /// 401: the web server passed no identity.
    public static let unauthenticated = APIError(
        status: 401, code: .unauthenticated, message: "No signed-in user: the web server passed no identity.")

    /// 401: a signed identity token that was valid once, or will be; the site issues a new one.
    static func identityTokenExpired(_ message: String) -> APIError {
        APIError(status: 401, code: .identityTokenExpired, message: message, challenge: bearerChallenge(invalid: true))
    }

    /// 401: a signed identity token that is not acceptable; `message` says why, never echoing it.
    static func invalidIdentityToken(_ message: String) -> APIError {
        APIError(status: 401, code: .invalidIdentityToken, message: message, challenge: bearerChallenge(invalid: true))
    }

    /// The challenge of a route that takes a Bearer token (RFC 6750 §3): with `invalid`, the
    /// token that came was refused. Browsers show no dialog for this scheme.
    static func bearerChallenge(invalid: Bool) -> String {
        #"Bearer realm="app-inbox""# + (invalid ? #", error="invalid_token""# : "")
    }

    /// 404: no such route.
    public static let notFound = APIError(status: 404, code: .notFound, message: "No such route.")

    /// 405, with the route's methods in `Allow`.
    public static func methodNotAllowed(allow: String) -> APIError {
        APIError(
            status: 405, code: .methodNotAllowed, message: "Method not allowed here; use \(allow).", allow: allow)
    }

    /// 502: eSputnik refused the request itself.
    public static let upstreamRejected = APIError(
        status: 502, code: .upstreamRejected, message: "eSputnik rejected the token request.")

    /// 502: eSputnik refused the API key.
    public static let upstreamAuthFailed = APIError(
        status: 502, code: .upstreamAuthFailed, message: "eSputnik refused the site's API key.")

    /// 502: eSputnik's answer was not a token.
    public static let badUpstreamResponse = APIError(
        status: 502, code: .badUpstreamResponse, message: "eSputnik sent an answer that is not a token.")

    /// 503: eSputnik is down or pacing us, or the cap or the breaker held the call back.
    public static func upstreamUnavailable(retryAfter: Int? = nil) -> APIError {
        APIError(
            status: 503, code: .upstreamUnavailable, message: "eSputnik is unavailable; try again later.",
            retryAfter: retryAfter)
    }

    /// 504: no answer from eSputnik within the deadline.
    public static let upstreamTimeout = APIError(
        status: 504, code: .upstreamTimeout, message: "eSputnik did not answer in time.")

    /// 403: the browser said the request comes from another site.
    public static func crossSite(_ message: String) -> APIError {
        APIError(status: 403, code: .crossSite, message: message)
    }

    /// 429: this identity asked too often.
    public static func rateLimited(retryAfter: Int) -> APIError {
        APIError(
            status: 429, code: .rateLimited, message: "Too many token requests for this user; try again later.",
            retryAfter: retryAfter)
    }

    /// 404 for `init.js` when no script can be made: the message tells the site's admin what to set.
    public static let initScriptUnavailable = APIError(
        status: 404, code: .notFound,
        message: "The init script is not configured on this server: set APP_INBOX_SITE_ID, "
            + "or APP_INBOX_LOADER=omit when the site loads the eSputnik script itself.")
}
