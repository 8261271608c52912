/// An error answer of the API: an HTTP status and the JSON `{"error", "message"}` shape.
public struct APIError: Error, Sendable, Equatable {
    /// The HTTP status sent to the client.
    public var status: Int
    /// The stable machine-readable code, e.g. `invalid_identity`.
    public var code: String
    /// A human-readable explanation; never contains secrets or upstream bodies.
    public var message: String
    /// Seconds for a `Retry-After` header, when known.
    public var retryAfter: Int?
    /// Methods for an `Allow` header on 405.
    public var allow: String?

    /// Creates an error answer.
    public init(status: Int, code: String, message: String, retryAfter: Int? = nil, allow: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.allow = allow
    }

    /// The JSON answer for this error.
    public var response: Response {
        var body: [UInt8] = []
        body.append(contentsOf: #"{"error":"#.utf8)
        JSONString.append(code, to: &body)
        body.append(contentsOf: #","message":"#.utf8)
        JSONString.append(message, to: &body)
        body.append(UInt8(ascii: "}"))
        var response = Response.json(status: status, body)
        if let retryAfter { response.headers.append(.init("Retry-After", String(retryAfter))) }
        if let allow { response.headers.append(.init("Allow", allow)) }
        return response
    }
}

extension APIError {
    public static func invalidIdentity(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_identity", message: message)
    }

    /// The code of `repeatedIdentityParam`, for the handler that logs it.
    public static let repeatedIdentityParamCode = "identity_param_repeated"

    /// A configured identity param arrived more than once: the web server's configuration lets
    /// two values compete (under nginx, often a client's Basic-auth name in `REMOTE_USER`), so no
    /// identity is trusted and nothing goes upstream.
    public static func repeatedIdentityParam(_ name: String) -> APIError {
        APIError(
            status: 500, code: repeatedIdentityParamCode,
            message: "The web server sent the identity param \(name) more than once; fix its configuration.")
    }

    public static let unauthenticated = APIError(
        status: 401, code: "unauthenticated", message: "No signed-in user: the web server passed no identity.")

    public static let notFound = APIError(status: 404, code: "not_found", message: "No such route.")

    public static func methodNotAllowed(allow: String) -> APIError {
        APIError(
            status: 405, code: "method_not_allowed", message: "Method not allowed here; use \(allow).", allow: allow)
    }

    public static let upstreamRejected = APIError(
        status: 502, code: "upstream_rejected", message: "eSputnik rejected the token request.")

    public static let upstreamAuthFailed = APIError(
        status: 502, code: "upstream_auth_failed", message: "eSputnik refused the site's API key.")

    public static let badUpstreamResponse = APIError(
        status: 502, code: "bad_upstream_response", message: "eSputnik sent an answer that is not a token.")

    public static func upstreamUnavailable(retryAfter: Int? = nil) -> APIError {
        APIError(
            status: 503, code: "upstream_unavailable", message: "eSputnik is unavailable; try again later.",
            retryAfter: retryAfter)
    }

    public static let upstreamTimeout = APIError(
        status: 504, code: "upstream_timeout", message: "eSputnik did not answer in time.")
}
