/// Signed identity, configured: the keys and the claims a token must carry. `verify` turns a
/// token into the identity it vouches for. Immutable; a reload publishes a new one.
public struct SignedIdentity: Sendable {
    /// The keys tokens may be signed with.
    public let keys: SignedIdentityKeys
    /// The settings the keys came with (cookie, audience, issuer, lifetime).
    public let settings: SignedIdentitySettings

    /// How far clocks may disagree, in seconds, for `exp`, `nbf` and `iat`.
    public static let leewaySeconds = 30.0

    /// Tokens already verified under these keys and settings.
    let verified = VerifiedTokens()
    /// The cookie's name as bytes, looked for in every request's `Cookie` header.
    let cookieName: [UInt8]

    /// Pairs settings with the keys read from their files.
    public init(keys: SignedIdentityKeys, settings: SignedIdentitySettings) {
        self.keys = keys
        self.settings = settings
        cookieName = Array(settings.cookie.utf8)
    }

    /// What `token` vouches for at `now`: from `verified` when this token checked out before
    /// (its times are checked again), else checked in full and remembered.
    ///
    /// - Throws: the refusal as an `APIError` (401), or the 400 of a signed but malformed claim.
    func vouched(byToken token: ArraySlice<UInt8>, now: Double) throws(APIError) -> Vouched {
        let digest = VerifiedTokens.digest(token)
        if let digest, let known = verified.entry(digest) {
            if now > known.expiry + Self.leewaySeconds {
                throw TokenRefusal.expired("it expired at \(Self.spelled(known.expiry))").apiError
            }
            if let from = known.validFrom, now + Self.leewaySeconds < from {
                throw TokenRefusal.expired("it is valid only from \(Self.spelled(from))").apiError
            }
            return Vouched(identity: known.identity, remembered: true)
        }
        let checked: Verified
        do {
            checked = try verify(token, now: now)
        } catch {
            throw error.apiError
        }
        let identity = try Self.identity(checked.claims, names: settings.claims)
        if let digest {
            verified.remember(digest, .init(identity: identity, expiry: checked.expiry, validFrom: checked.validFrom))
        }
        return Vouched(identity: identity, remembered: false)
    }

    /// The identity a token vouched for; `remembered` when its signature was checked before.
    struct Vouched {
        let identity: ContactIdentity
        let remembered: Bool
    }

    /// The identity a verified token's claims name, validated as identity params are.
    private static func identity(_ claims: [String: JSONValue], names: IdentityClaims) throws(APIError) -> ContactIdentity {
        func claim(_ name: String) throws(APIError) -> [UInt8]? {
            switch claims[name] {
            case nil: return nil
            case .string(let value)?: return Array(value.utf8)
            default: throw TokenRefusal.invalid("its \(name) claim is not a string").apiError
            }
        }
        do {
            return try ContactIdentity.validated(
                email: try claim(names.email), phone: try claim(names.phone),
                externalCustomerId: try claim(names.externalCustomerId))
        } catch  where error.code == .unauthenticated {
            throw TokenRefusal.invalid("it carries no \(names.email), \(names.phone) or \(names.externalCustomerId) claim")
                .apiError
        }
    }

    /// A token whose signature and claims checked out: its claims, and the times within which
    /// it stays valid (`validFrom`: the later of `nbf` and `iat`, when either was given).
    struct Verified {
        let claims: [String: JSONValue]
        let expiry: Double
        let validFrom: Double?
    }

    /// `token`'s claims and times, once its signature, algorithm, audience, issuer and times
    /// check out at `now` (seconds since 1970).
    func verify(_ token: ArraySlice<UInt8>, now: Double) throws(TokenRefusal) -> Verified {
        let parsed = try IdentityToken(token)
        let algorithm = try Self.algorithm(of: parsed.header)
        let keyID: String?
        switch parsed.header["kid"] {
        case nil: keyID = nil
        case .string(let id)?: keyID = id
        default: throw .invalid("its kid is not a string")
        }
        let candidates = keys.candidates(algorithm: algorithm, keyID: keyID)
        guard !candidates.isEmpty else {
            throw .invalid("no configured key has alg \(algorithm.rawValue)\(keyID.map { " and kid \(Self.quoted($0))" } ?? "")")
        }
        var failed = false
        for key in candidates {
            switch key.verifies(parsed.signingInput, signature: parsed.signature) {
            case true?:
                return try checkClaims(parsed.claims, now: now)
            case false?: continue
            case nil: failed = true
            }
        }
        throw .invalid(failed ? "OpenSSL could not verify it" : "its signature does not verify")
    }

    /// The header's algorithm, when it is one a key may be bound to and nothing else in the
    /// header asks for processing we do not do.
    private static func algorithm(of header: [String: JSONValue]) throws(TokenRefusal) -> JWSAlgorithm {
        guard let name = header["alg"]?.stringValue else { throw .invalid("its header has no alg") }
        guard let algorithm = JWSAlgorithm(rawValue: name) else {
            throw .invalid("alg \(quoted(name)) is not accepted (HS256, EdDSA, ES256 or RS256)")
        }
        // RFC 7515 §4.1.11: a recipient must refuse extensions it does not understand; we
        // understand none.
        if header["crit"] != nil { throw .invalid("its header has crit, and no extension is supported") }
        return algorithm
    }

    /// `exp` (required), `nbf`, `iat`, `aud` and `iss` (RFC 7519 §4.1), with the leeway.
    private func checkClaims(_ claims: [String: JSONValue], now: Double) throws(TokenRefusal) -> Verified {
        let leeway = Self.leewaySeconds
        guard let expiry = try Self.time(claims, "exp") else { throw .invalid("it has no exp claim") }
        if now > expiry + leeway { throw .expired("it expired at \(Self.spelled(expiry))") }
        let notBefore = try Self.time(claims, "nbf")
        if let notBefore, now + leeway < notBefore {
            throw .expired("it is valid only from \(Self.spelled(notBefore))")
        }
        let maxAge = Double(settings.maxAgeSeconds)
        let issued = try Self.time(claims, "iat")
        if let issued {
            if now + leeway < issued { throw .expired("it was issued in the future, at \(Self.spelled(issued))") }
            if expiry - issued > maxAge {
                throw .invalid("it lives longer than APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (\(settings.maxAgeSeconds) s) from its iat")
            }
        }
        if expiry - now > maxAge + leeway {
            throw .invalid("its exp lies more than APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (\(settings.maxAgeSeconds) s) ahead")
        }
        let audience = settings.audience
        switch claims["aud"] {
        case .string(let value)? where value.utf8.elementsEqual(audience.utf8): break
        case .array(let values)? where values.contains(where: { $0.stringValue?.utf8.elementsEqual(audience.utf8) == true }): break
        case nil: throw .invalid("it has no aud claim (\"\(audience)\" is expected)")
        default: throw .invalid("its aud is not \"\(audience)\"")
        }
        if let issuer = settings.issuer {
            guard let value = claims["iss"]?.stringValue, value.utf8.elementsEqual(issuer.utf8) else {
                throw .invalid("its iss is not \"\(issuer)\"")
            }
        }
        return Verified(claims: claims, expiry: expiry, validFrom: [notBefore, issued].compactMap { $0 }.max())
    }

    /// A NumericDate claim (RFC 7519 §2); nil when absent.
    private static func time(_ claims: [String: JSONValue], _ name: String) throws(TokenRefusal) -> Double? {
        switch claims[name] {
        case nil: return nil
        case .number(let seconds)? where seconds.isFinite: return seconds
        default: throw .invalid("its \(name) is not a number of seconds")
        }
    }

    /// A value from the token's header in quotes, cut to 40 characters: a message names it for
    /// the site's developer, but must not carry a page of whatever a client sent.
    private static func quoted(_ value: String) -> String {
        let scalars = value.unicodeScalars
        return "\"" + String(String.UnicodeScalarView(scalars.prefix(40))) + (scalars.count > 40 ? "…\"" : "\"")
    }

    /// Seconds since 1970 as logs and messages show them.
    private static func spelled(_ seconds: Double) -> String {
        seconds.magnitude < 1e15 ? String(Int64(seconds)) : String(seconds)
    }
}
