import Testing

@testable import AppInbox

/// Signed identity: the published vectors, then every way a token is refused.
@Suite("Signed identity")
struct SignedIdentityTests {
    static let minter = TokenMinter()
    static let now = 1_800_000_000.0

    /// A verifier of `minter`'s secret (and any `jwks`) with `settings` changed by `change`.
    static func verifier(
        jwks: String? = nil, _ change: (inout SignedIdentitySettings) -> Void = { _ in }
    ) throws -> SignedIdentity {
        var keys = try SignedIdentityKeys.parse(file: Array((jwks ?? #"{"keys":[\#(minter.jwk(kid: "k1"))]}"#).utf8))
        if jwks != nil { keys += [] }
        var settings = SignedIdentitySettings()
        settings.keysFile = "/keys.json"
        change(&settings)
        return SignedIdentity(keys: SignedIdentityKeys(keys), settings: settings)
    }

    /// The refusal of `token`, or nil when it verifies.
    static func refusal(_ token: String, by verifier: SignedIdentity, at now: Double = now) -> TokenRefusal? {
        do {
            _ = try verifier.verify(Array(token.utf8)[...], now: now)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Published vectors: the signature checks out, so the refusal is about the claims.

    /// RFC 7515 appendix A: one payload (iss "joe", exp 1300819380, no aud) under four keys.
    static let rfcPayload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    static let rfcVectors: [(name: String, jwk: String, token: String)] = [
        (
            "A.1 HS256",
            #"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#,
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\(rfcPayload).dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ),
        (
            "A.2 RS256",
            #"{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}"#,
            "eyJhbGciOiJSUzI1NiJ9.\(rfcPayload)."
                + "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
                + "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
                + "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
        ),
        (
            "A.3 ES256",
            #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
            "eyJhbGciOiJFUzI1NiJ9.\(rfcPayload).DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
        ),
    ]

    @Test(arguments: rfcVectors.map(\.name))
    func rfc7515Vectors(_ name: String) throws {
        let vector = Self.rfcVectors.first { $0.name == name }!
        let verifier = try Self.verifier(jwks: vector.jwk)
        #expect(Self.refusal(vector.token, by: verifier, at: 1_300_819_000) == .invalid(#"it has no aud claim ("app-inbox" is expected)"#))
        // One bit of the signature flipped, and it no longer verifies.
        var tampered = Array(vector.token.utf8)
        let last = tampered.count - 2
        tampered[last] = tampered[last] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(Self.refusal(String(decoding: tampered, as: UTF8.self), by: verifier, at: 1_300_819_000) == .invalid("its signature does not verify"))
        // Past its exp (plus the leeway), the same token has expired.
        #expect(Self.refusal(vector.token, by: verifier, at: 1_300_819_380 + 31) == .expired("it expired at 1300819380"))
    }

    /// RFC 8037 appendix A.4: Ed25519 over a payload that is a sentence, not claims, so checked
    /// at the key.
    @Test func rfc8037Ed25519Vector() throws {
        let key = try SignedIdentityKeys.parse(file: Array(#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#.utf8))[
            0]
        #expect(key.algorithm == .edDSA)
        let input = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
        let signature = Base64URL.decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")!
        #expect(key.verifies(input[...], signature: signature) == true)
        #expect(key.verifies((input + [0x2E])[...], signature: signature) == false)
        #expect(key.verifies(input[...], signature: Array(signature.dropLast())) == false)
    }

    /// RFC 7520 §4.4: HS256 with a kid.
    @Test func rfc7520VectorIsFoundByItsKid() throws {
        let jwks =
            #"{"keys":[{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}]}"#
        let key = try SignedIdentityKeys.parse(file: Array(jwks.utf8))[0]
        let token = Array(
            ("eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9."
                + "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBk"
                + "b24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4").utf8)
        let signature = Base64URL.decode("s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0")!
        #expect(key.verifies(token[...], signature: signature) == true)
        #expect(SignedIdentityKeys([key]).candidates(algorithm: .hs256, keyID: "018c0ae5-4d9b-471b-bfd6-eef314bc7037").count == 1)
        #expect(SignedIdentityKeys([key]).candidates(algorithm: .hs256, keyID: "other").isEmpty)
    }

    // MARK: Claims

    @Test func aValidTokenGivesItsClaims() throws {
        let verified = try Self.verifier().verify(Array(Self.minter.token(email: "alice@example.com", now: Self.now).utf8)[...], now: Self.now)
        #expect(verified.claims["email"] == .string("alice@example.com"))
        #expect(verified.expiry == Self.now + 3600)
        #expect(verified.validFrom == Self.now)
    }

    @Test func timesAreCheckedWithThirtySecondsOfLeeway() throws {
        let verifier = try Self.verifier()
        let token = Self.minter.token(email: "a@example.com", now: Self.now)
        #expect(Self.refusal(token, by: verifier, at: Self.now + 3600 + 30) == nil)
        #expect(Self.refusal(token, by: verifier, at: Self.now + 3600 + 31) == .expired("it expired at \(Int(Self.now) + 3600)"))
        #expect(Self.refusal(token, by: verifier, at: Self.now - 30) == nil)
        #expect(Self.refusal(token, by: verifier, at: Self.now - 31) == .expired("it was issued in the future, at \(Int(Self.now))"))
        let later = Self.minter.token(email: "a@example.com", now: Self.now, extra: #","nbf":\#(Int(Self.now) + 600)"#)
        #expect(Self.refusal(later, by: verifier, at: Self.now) == .expired("it is valid only from \(Int(Self.now) + 600)"))
        #expect(Self.refusal(later, by: verifier, at: Self.now + 600) == nil)
    }

    @Test(arguments: [
        (#"{"email":"a@example.com","aud":"app-inbox"}"#, "it has no exp claim"),
        (#"{"email":"a@example.com","aud":"app-inbox","exp":"soon"}"#, "its exp is not a number of seconds"),
        (#"{"email":"a@example.com","exp":1800003600}"#, #"it has no aud claim ("app-inbox" is expected)"#),
        (#"{"email":"a@example.com","aud":"other","exp":1800003600}"#, #"its aud is not "app-inbox""#),
        (#"{"email":"a@example.com","aud":["other","x"],"exp":1800003600}"#, #"its aud is not "app-inbox""#),
        (
            #"{"email":"a@example.com","aud":"app-inbox","iat":1799900000,"exp":1800003600}"#,
            "it lives longer than APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (86400 s) from its iat"
        ),
        (
            #"{"email":"a@example.com","aud":"app-inbox","exp":1800090000}"#,
            "its exp lies more than APP_INBOX_SIGNED_IDENTITY_MAX_AGE_S (86400 s) ahead"
        ),
    ])
    func claimsThatAreRefused(_ claims: String, _ reason: String) throws {
        #expect(Self.refusal(Self.minter.token(claims: claims), by: try Self.verifier()) == .invalid(reason))
    }

    @Test func anAudienceListAndTheIssuerAreAccepted() throws {
        let verifier = try Self.verifier { $0.issuer = "https://shop.example" }
        let listed = Self.minter.token(claims: #"{"aud":["x","app-inbox"],"iss":"https://shop.example","exp":1800003600}"#)
        #expect(Self.refusal(listed, by: verifier) == nil)
        let otherIssuer = Self.minter.token(claims: #"{"aud":"app-inbox","iss":"https://evil.example","exp":1800003600}"#)
        #expect(Self.refusal(otherIssuer, by: verifier) == .invalid(#"its iss is not "https://shop.example""#))
    }

    // MARK: Headers and keys

    @Test(arguments: [
        (#"{"alg":"none"}"#, #"alg "none" is not accepted (HS256, EdDSA, ES256 or RS256)"#),
        (#"{"alg":"HS512"}"#, #"alg "HS512" is not accepted (HS256, EdDSA, ES256 or RS256)"#),
        (#"{"typ":"JWT"}"#, "its header has no alg"),
        (#"{"alg":"HS256","crit":["exp"]}"#, "its header has crit, and no extension is supported"),
        (#"{"alg":"HS256","kid":7}"#, "its kid is not a string"),
        (#"{"alg":"HS256","kid":"k2"}"#, #"no configured key has alg HS256 and kid "k2""#),
        (#"{"alg":"RS256"}"#, "no configured key has alg RS256"),
        (#"{"alg":"HS256","alg":"none"}"#, "its header is not base64url-encoded JSON"),
        (
            #"{"alg":"HS256","kid":"\#(String(repeating: "k", count: 500))"}"#,
            #"no configured key has alg HS256 and kid "\#(String(repeating: "k", count: 40))…""#
        ),
    ])
    func headersThatAreRefused(_ header: String, _ reason: String) throws {
        let token = Self.minter.token(header: header, claims: #"{"email":"a@example.com","aud":"app-inbox","exp":1800003600}"#)
        #expect(Self.refusal(token, by: try Self.verifier()) == .invalid(reason))
    }

    @Test func anHS256TokenIsNeverCheckedAgainstAPublicKeysBytes() throws {
        // The classic confusion: sign HS256 with the bytes of the server's public key. Only the
        // RSA key is configured, and it is bound to RS256, so no key is even tried.
        let rsa = Self.rfcVectors[1].jwk
        let verifier = try Self.verifier(jwks: rsa)
        let confused = TokenMinter(secret: rsa).token(email: "a@example.com", now: Self.now)
        #expect(Self.refusal(confused, by: verifier) == .invalid("no configured key has alg HS256"))
    }

    @Test(arguments: [
        ("e30", "it is not a compact JWS (three base64url parts separated by dots)"),
        ("e30.e30.e30.e30.e30", "it is not a compact JWS (three base64url parts separated by dots)"),
        ("e30=.e30.AAAA", "its header is not base64url-encoded JSON"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.", "its signature is missing or not base64url"),
        ("eyJhbGciOiJIUzI1NiJ9.W10.AAAA", "its payload is not base64url-encoded JSON"),
        ("eyJhbGciOiJIUzI1NiJ9.e30.AA+A", "its signature is missing or not base64url"),
    ])
    func malformedTokensAreRefused(_ token: String, _ reason: String) throws {
        #expect(Self.refusal(token, by: try Self.verifier()) == .invalid(reason))
    }

    @Test func aTokenOverEightKilobytesIsNotDecoded() throws {
        let padding = String(repeating: "x", count: 8192)
        let token = Self.minter.token(email: "a@example.com", now: Self.now, extra: #","pad":"\#(padding)""#)
        #expect(Self.refusal(token, by: try Self.verifier()) == .invalid("it is longer than 8192 bytes"))
    }

    @Test func keysRotateByKid() throws {
        let old = TokenMinter(secret: "the-old-secret-is-at-least-32-bytes-long")
        let new = TokenMinter(secret: "the-new-secret-is-at-least-32-bytes-long")
        let both = try Self.verifier(jwks: #"{"keys":[\#(old.jwk(kid: "2026-10")),\#(new.jwk(kid: "2026-11"))]}"#)
        let claims = #"{"email":"a@example.com","aud":"app-inbox","exp":1800003600}"#
        let byOld = old.token(header: #"{"alg":"HS256","kid":"2026-10"}"#, claims: claims)
        let byNew = new.token(header: #"{"alg":"HS256","kid":"2026-11"}"#, claims: claims)
        #expect(Self.refusal(byOld, by: both) == nil)
        #expect(Self.refusal(byNew, by: both) == nil)
        // Without a kid every HS256 key is tried.
        #expect(Self.refusal(new.token(claims: claims), by: both) == nil)
        // A token naming one key's kid is not accepted under the other's signature.
        let misnamed = old.token(header: #"{"alg":"HS256","kid":"2026-11"}"#, claims: claims)
        #expect(Self.refusal(misnamed, by: both) == .invalid("its signature does not verify"))
        // The old key retired: its tokens stop working.
        let retired = try Self.verifier(jwks: #"{"keys":[\#(new.jwk(kid: "2026-11"))]}"#)
        #expect(Self.refusal(byOld, by: retired) == .invalid(#"no configured key has alg HS256 and kid "2026-10""#))
    }

    @Test(arguments: [
        (#"{"keys":[]}"#, "the JWKS lists no keys"),
        (#"{"kty":"oct","k":"c2hvcnQ"}"#, "an HS256 secret needs at least 32 bytes; this one has 5"),
        (#"{"kty":"oct","alg":"RS256","k":"c2hvcnQ"}"#, "key 1 is a secret: its alg can only be HS256"),
        (
            #"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#,
            #"key 1 holds a private key ("d"); give the public part only"#
        ),
        (#"{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#, "key 1 is a key for EdDSA, not ES256"),
        (
            #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"}"#,
            "key 1 is not a valid public key"
        ),
        (
            #"{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp"}"#,
            "key 1 is a 384-bit RSA key; at least 2048 bits are needed"
        ),
        (#"{"kty":"oct","use":"enc","k":"c2hvcnQ"}"#, #"key 1 has use "enc", not "sig""#),
        (
            #"{"keys":[{"kty":"oct","kid":"a","k":"YS10ZXN0LXNlY3JldC1vZi1hdC1sZWFzdC0zMi1ieXRlcyEh"},{"kty":"oct","kid":"a","k":"YS10ZXN0LXNlY3JldC1vZi1hdC1sZWFzdC0zMi1ieXRlcyEh"}]}"#,
            #"two keys have the kid "a""#
        ),
        ("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n", "the PEM file is not a valid public key"),
        ("not json", "is neither a JWKS (JSON with \"keys\"), a JWK nor a PEM public key"),
    ])
    func keyFilesThatAreRefused(_ file: String, _ problem: String) {
        #expect(throws: KeyProblem(problem)) { try SignedIdentityKeys.parse(file: Array(file.utf8)) }
    }

    @Test func aPEMPublicKeyIsBoundToItsOwnAlgorithm() throws {
        let pem = """
            -----BEGIN PUBLIC KEY-----
            MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
            -----END PUBLIC KEY-----

            """
        let keys = try SignedIdentityKeys.parse(file: Array(pem.utf8))
        #expect(keys.map(\.algorithm) == [.edDSA])
        #expect(keys[0].id == nil)
    }
}

/// The tokens already verified: only times are checked again, and only verified tokens count.
@Suite("Verified tokens")
struct VerifiedTokensTests {
    static let now = SignedIdentityTests.now

    @Test func aRememberedTokenStillExpires() throws {
        let verifier = try SignedIdentityTests.verifier()
        let token = Array(SignedIdentityTests.minter.token(email: "a@example.com", now: Self.now).utf8)[...]
        let first = try verifier.vouched(byToken: token, now: Self.now)
        #expect(first.identity.email == "a@example.com" && !first.remembered)
        #expect(verifier.verified.count == 1)
        let again = try verifier.vouched(byToken: token, now: Self.now + 3600)
        #expect(again.identity.email == "a@example.com" && again.remembered)
        #expect(throws: APIError.self) { try verifier.vouched(byToken: token, now: Self.now + 3600 + 31) }
        #expect(throws: APIError.self) { try verifier.vouched(byToken: token, now: Self.now - 31) }
    }

    @Test func refusedTokensAreNotRemembered() throws {
        let verifier = try SignedIdentityTests.verifier()
        var forged = Array(SignedIdentityTests.minter.token(email: "a@example.com", now: Self.now).utf8)
        forged[forged.count - 2] ^= 0x01
        for _ in 0..<2 {
            #expect(throws: APIError.self) { try verifier.vouched(byToken: forged[...], now: Self.now) }
        }
        #expect(verifier.verified.count == 0)
    }

    @Test func newKeysForgetWhatTheOldOnesVerified() throws {
        let token = Array(SignedIdentityTests.minter.token(email: "a@example.com", now: Self.now).utf8)[...]
        let before = try SignedIdentityTests.verifier()
        _ = try before.vouched(byToken: token, now: Self.now)
        let rotated = try SignedIdentityTests.verifier(jwks: TokenMinter(secret: "another-secret-of-at-least-32-bytes!!").jwk(kid: "k9"))
        #expect(throws: APIError.self) { try rotated.vouched(byToken: token, now: Self.now) }
    }

    @Test func manyWorkersVerifyAndRememberAtOnce() throws {
        // Workers share the keys (a keyed HMAC template copied per call, an EVP_PKEY) and the
        // remembered tokens; under ThreadSanitizer this is the check that they may.
        let verifier = try SignedIdentityTests.verifier()
        let tokens = (0..<16).map { Array(SignedIdentityTests.minter.token(email: "u\($0)@example.com", now: Self.now).utf8) }
        let ed25519 = try SignedIdentityKeys.parse(
            file: Array(#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#.utf8))[0]
        let input = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
        let signature = Base64URL.decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")!
        let failures = Locked(0)
        onThreads(4) { thread in
            for round in 0..<50 {
                let index = (thread * 5 + round) % tokens.count
                let email = try? verifier.vouched(byToken: tokens[index][...], now: Self.now).identity.email
                let signed = ed25519.verifies(input[...], signature: signature)
                if email != "u\(index)@example.com" || signed != true { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(verifier.verified.count == tokens.count)
    }

    @Test func theOldestIsForgottenBeyondTheCapacity() throws {
        let tokens = VerifiedTokens()
        let entry = VerifiedTokens.Entry(identity: ContactIdentity(email: "a@example.com"), expiry: 0, validFrom: nil)
        let digests = (0...VerifiedTokens.capacity).map { VerifiedTokens.digest(Array("token-\($0)".utf8)[...])! }
        for digest in digests { tokens.remember(digest, entry) }
        #expect(tokens.count == VerifiedTokens.capacity)
        #expect(tokens.entry(digests[0]) == nil)
        #expect(tokens.entry(digests[1]) != nil)
        #expect(tokens.entry(digests.last!) != nil)
    }
}

/// Base64url as JWS uses it: unpadded, and one spelling per byte string.
@Suite("Base64URL")
struct Base64URLTests {
    @Test func roundTripsEveryLength() {
        let all = (0...255).map { UInt8($0) }
        for length in 0...64 {
            let bytes = Array(all[0..<length])
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
    }

    @Test(arguments: ["Zg==", "Zm9v\n", "+/+/", "Z", "Zh", "Zm9=", "Zm9vYh"])
    func refusesPaddingOtherAlphabetsAndNonCanonicalSpellings(_ text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
