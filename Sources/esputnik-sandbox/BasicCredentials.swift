import ResponderCore

/// The user and password of an `Authorization: Basic` header (RFC 7617), as both the token
/// endpoint (key check) and the demo sign-in read it.
struct BasicCredentials {
    let user: String
    let password: String

    /// Parses the request's `Authorization` header; nil when absent or not valid Basic auth.
    init?(_ request: Request) {
        guard let header = request.string("HTTP_AUTHORIZATION"), header.hasPrefix("Basic "),
            let decoded = Base64.decode(String(header.dropFirst("Basic ".count))),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return nil }
        user = String(decoding: decoded[..<colon], as: UTF8.self)
        password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
    }
}
