/// A compact JWS (RFC 7515 §7.1) as the site's application issues it, split and decoded but not
/// yet trusted: `SignedIdentity.verify` checks its signature and claims.
struct IdentityToken {
    /// The protected header's members.
    let header: [String: JSONValue]
    /// The claims (RFC 7519 §4).
    let claims: [String: JSONValue]
    /// `BASE64URL(header) . BASE64URL(payload)`, the bytes that were signed.
    let signingInput: ArraySlice<UInt8>
    /// The decoded signature.
    let signature: [UInt8]

    /// The longest token read: a real one is a few hundred bytes, and nothing larger is decoded.
    static let maxBytes = 8192

    /// Splits and decodes `token`; throws the reason it is not a compact JWS of two JSON objects.
    init(_ token: ArraySlice<UInt8>) throws(TokenRefusal) {
        guard token.count <= Self.maxBytes else { throw .invalid("it is longer than \(Self.maxBytes) bytes") }
        let parts = token.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw .invalid("it is not a compact JWS (three base64url parts separated by dots)")
        }
        guard let headerBytes = Base64URL.decode(parts[0]), case .object(let header)? = JSONValue.parse(headerBytes) else {
            throw .invalid("its header is not base64url-encoded JSON")
        }
        guard let payloadBytes = Base64URL.decode(parts[1]), case .object(let claims)? = JSONValue.parse(payloadBytes) else {
            throw .invalid("its payload is not base64url-encoded JSON")
        }
        guard let signature = Base64URL.decode(parts[2]), !signature.isEmpty else {
            throw .invalid("its signature is missing or not base64url")
        }
        self.header = header
        self.claims = claims
        signingInput = token[token.startIndex..<parts[1].endIndex]
        self.signature = signature
    }
}

/// Why a token was refused: a reason the site's developer can act on, never the token itself.
enum TokenRefusal: Error, Equatable {
    /// Expired, or not valid yet: 401 `identity_token_expired`.
    case expired(String)
    /// Anything else: 401 `invalid_identity_token`.
    case invalid(String)

    var apiError: APIError {
        switch self {
        case .expired(let reason): .identityTokenExpired("The identity token is not valid now: \(reason). Issue a new one.")
        case .invalid(let reason): .invalidIdentityToken("The identity token was refused: \(reason).")
        }
    }
}
