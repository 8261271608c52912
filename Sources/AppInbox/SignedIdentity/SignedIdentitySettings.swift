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

    /// Creates the defaults (signed identity off).
    public init() {}

    /// Whether a key file is configured.
    public var isOn: Bool { keysFile != nil || secretFile != nil }
}
