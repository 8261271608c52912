/// Where signed identity tokens come from and what they must claim (README.md "Signed
/// identity"). Setting either key file turns signed identity on.
public struct SignedIdentitySettings: Sendable, Equatable {
    /// A JWKS document, one JWK or a PEM public key (`APP_INBOX_SIGNED_IDENTITY_KEYS`).
    public var keysFile: String?
    /// A raw HS256 secret (`APP_INBOX_SIGNED_IDENTITY_SECRET_FILE`), trimmed of surrounding whitespace.
    public var secretFile: String?
    /// The cookie that carries the token; `Authorization: Bearer` is read too.
    public var cookie = "app_inbox_identity"
    /// The `aud` a token must name.
    public var audience = "app-inbox"
    /// The `iss` a token must carry, when set.
    public var issuer: String?
    /// The longest lifetime accepted: `exp` at most this far past `iat`, or past now.
    public var maxAgeSeconds = 86_400
    /// The claims that carry the identity's fields: an identity provider's token may name the
    /// site's customer id `sub`, say.
    public var claims = IdentityClaims()

    /// Creates the defaults (signed identity off).
    public init() {}

    /// Whether a key file is configured.
    public var isOn: Bool { keysFile != nil || secretFile != nil }
}

/// The names of the claims that carry each identity field.
public struct IdentityClaims: Sendable, Equatable {
    /// The claim holding the user's email.
    public var email = "email"
    /// The claim holding the user's phone number.
    public var phone = "phone"
    /// The claim holding the site's own customer id.
    public var externalCustomerId = "external_customer_id"

    /// Creates the default claim names.
    public init() {}

    /// Claims with a meaning of their own (RFC 7519 §4.1), which cannot name a user's field.
    static let registered: Set<String> = ["exp", "nbf", "iat", "aud", "iss", "jti"]
}
