extension SignedIdentity {
    /// The identity of a request that carries no server-set identity param, from its token in
    /// `Authorization: Bearer` or else in the configured cookie. These two headers are the only
    /// client-supplied input ever read for identity, because the signature is what validates it.
    ///
    /// - Throws: `APIError` 401 `unauthenticated` when there is no token, 401
    ///   `identity_token_expired` or `invalid_identity_token` when it is refused, 400
    ///   `invalid_identity` when a signed claim is malformed.
    public func identity(of request: Request, now: Double) throws(APIError) -> ContactIdentity {
        try vouched(by: request, now: now).identity
    }

    /// As `identity(of:now:)`, telling also whether the token had been verified before.
    func vouched(by request: Request, now: Double) throws(APIError) -> Vouched {
        let found: ArraySlice<UInt8>?
        do {
            found = try Self.token(in: request, cookie: cookieName)
        } catch {
            throw error.apiError
        }
        guard let token = found else {
            throw APIError(
                status: 401, code: .unauthenticated,
                message: "No signed-in user: no identity param, and no identity token in the cookie "
                    + "\(settings.cookie) or in Authorization: Bearer.", challenge: APIError.bearerChallenge(invalid: false))
        }
        return try vouched(byToken: token, now: now)
    }

    /// The token: `Authorization: Bearer` when the request has one (a single-page app), else the
    /// cookie; nil when neither. A cookie name sent twice is refused: a sibling subdomain can add
    /// a cookie of the same name (cookie tossing), and neither copy can be told to be the site's.
    ///
    /// A header sent twice is refused as well: nginx passes each `Cookie:` line as a param of its
    /// own, libfcgi answers only the first, and the duplicate in the second would go unseen.
    static func token(in request: Request, cookie name: [UInt8]) throws(TokenRefusal) -> ArraySlice<UInt8>? {
        for (param, header) in [("HTTP_AUTHORIZATION", "Authorization"), ("HTTP_COOKIE", "Cookie")] where request.occurrences(param) > 1 {
            throw .invalid("the request has more than one \(header) header")
        }
        if let authorization = request.param("HTTP_AUTHORIZATION"), let token = bearer(authorization) {
            return token
        }
        guard let header = request.param("HTTP_COOKIE") else { return nil }
        var found: ArraySlice<UInt8>?
        for pair in header.split(separator: UInt8(ascii: ";")) {
            let trimmed = ASCII.trimmed(pair)
            guard let equals = trimmed.firstIndex(of: UInt8(ascii: "=")),
                trimmed[trimmed.startIndex..<equals].elementsEqual(name)
            else { continue }
            guard found == nil else {
                throw .invalid("the cookie \(String(decoding: name, as: UTF8.self)) came more than once (set under two paths or domains?)")
            }
            var value = ASCII.trimmed(trimmed[(equals + 1)...])
            // RFC 6265 §4.1.1 lets a value be quoted.
            if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                value = value.dropFirst().dropLast()
            }
            found = value
        }
        return found.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The credentials of `Bearer <token>` (RFC 6750 §2.1; the scheme is case-insensitive); nil for
    /// any other scheme, such as the Basic auth of a site's own staging password.
    private static func bearer(_ header: [UInt8]) -> ArraySlice<UInt8>? {
        let value = ASCII.trimmed(header[...])
        let scheme = Array("bearer".utf8)
        guard value.count > scheme.count + 1,
            zip(value, scheme).allSatisfy({ $0 | 0x20 == $1 }),
            value[value.startIndex + scheme.count] == UInt8(ascii: " ")
        else { return nil }
        let token = ASCII.trimmed(value[(value.startIndex + scheme.count)...])
        return token.isEmpty ? nil : token
    }
}
