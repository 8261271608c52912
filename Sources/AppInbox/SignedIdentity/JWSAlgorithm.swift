/// The JWS algorithms an identity token may be signed with (RFC 7518 §3.1, RFC 8037 §3.1). Each
/// key is bound to exactly one of them, and a token is only ever checked against keys bound to
/// the algorithm its header names: `none` is not among them, and an HS256 token is never checked
/// with an RSA key's bytes as its secret.
public enum JWSAlgorithm: String, Sendable, CaseIterable {
    /// HMAC-SHA256 under a shared secret: the easiest for a PHP site.
    case hs256 = "HS256"
    /// Ed25519 (RFC 8037): the site signs, the responder holds only the public key.
    case edDSA = "EdDSA"
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
    /// RSA PKCS #1 v1.5 with SHA-256, as identity providers issue.
    case rs256 = "RS256"
}
