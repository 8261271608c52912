import CCrypto

@testable import AppInbox

/// Mints HS256 identity tokens as a site's backend would, for tests of everything past the
/// signature (the integration suite mints every algorithm with PyJWT, Node and PHP).
struct TokenMinter {
    let secret: [UInt8]

    init(secret: String = "a-test-secret-of-at-least-32-bytes!!") {
        self.secret = Array(secret.utf8)
    }

    /// The secret as the JWKS `oct` key of `kid`.
    func jwk(kid: String) -> String {
        #"{"kty":"oct","alg":"HS256","kid":"\#(kid)","k":"\#(Base64URL.encode(secret))"}"#
    }

    /// A compact JWS of `header` and `claims` (JSON texts), signed with the secret.
    func token(header: String = #"{"alg":"HS256","typ":"JWT"}"#, claims: String) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        return input + "." + Base64URL.encode(sign(Array(input.utf8)))
    }

    /// Claims for `email`, valid for an hour from `now`, for the default audience.
    func token(email: String, now: Double, extra: String = "") -> String {
        let issued = Int(now)
        return token(claims: #"{"email":"\#(email)","aud":"app-inbox","iat":\#(issued),"exp":\#(issued + 3600)\#(extra)}"#)
    }

    func sign(_ input: [UInt8]) -> [UInt8] {
        let context = ccrypto_hmac_sha256_new(secret, secret.count)!
        defer { ccrypto_hmac_free(context) }
        var digest = [UInt8](repeating: 0, count: 32)
        precondition(ccrypto_hmac_sha256(context, input, input.count, &digest) == 1)
        return digest
    }
}
