import AppInbox
import FuzzSupport

// Signed identity tokens as the browser sends them: SignedIdentity.identity(of:now:) over
// arbitrary bytes. Input: the token; an input whose first byte is 'B' is sent as
// `Authorization: Bearer <rest>`, any other as the value of the identity cookie (after other
// cookies, so the cookie parser is exercised too). The seeds are HS256 tokens under the secret
// below, valid at `now`; the fuzzer mutates them. It cannot sign anything with the Ed25519 and
// RSA keys (no private key is here), so a token accepted under EdDSA or RS256 is a forgery.

let now = 1_800_000_000.0
let secret = "fuzz-secret-fuzz-secret-fuzz-secret!"
let jwks = """
    {"keys":[
    {"kty":"oct","kid":"hs","k":"\(Base64URL.encode(Array(secret.utf8)))"},
    {"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
    {"kty":"RSA","kid":"rs","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}
    ]}
    """
let verifier: SignedIdentity = {
    var settings = SignedIdentitySettings()
    settings.keysFile = "fuzz"
    return SignedIdentity(keys: SignedIdentityKeys(try! SignedIdentityKeys.parse(file: Array(jwks.utf8))), settings: settings)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    let bearer = input.first == UInt8(ascii: "B")
    let token = bearer ? Array(input.dropFirst()) : input
    let params: [String: [UInt8]] =
        bearer
        ? ["HTTP_AUTHORIZATION": Array("Bearer ".utf8) + token]
        : ["HTTP_COOKIE": Array("theme=dark; app_inbox_identity=".utf8) + token + Array("; lang=uk".utf8)]
    let request = Request(param: { params[$0] })

    let identity: ContactIdentity
    do {
        identity = try verifier.identity(of: request, now: now)
    } catch {
        check([400, 401].contains(error.status), "status \(error.status)")
        // The answer helps the site's developer but never repeats the token.
        if token.count >= 12 {
            check(!containsBytes(error.response.body, token), "the answer repeats the token")
        }
        return 0
    }

    // Accepted: the token was one of ours, split at its dots; its header says HS256, and the
    // identity is exactly its claims. The cookie's value ends at `;`; whitespace around it and
    // a pair of quotes are dropped (RFC 6265 §5.2, §4.1.1).
    var sent = bearer ? token[...] : token.prefix { $0 != UInt8(ascii: ";") }
    while let first = sent.first, [0x20, 0x09, 0x0D, 0x0A].contains(first) { sent = sent.dropFirst() }
    while let last = sent.last, [0x20, 0x09, 0x0D, 0x0A].contains(last) { sent = sent.dropLast() }
    if !bearer, sent.count >= 2, sent.first == UInt8(ascii: "\""), sent.last == UInt8(ascii: "\"") {
        sent = sent.dropFirst().dropLast()
    }
    let parts = sent.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    check(parts.count == 3, "accepted a token of \(parts.count) parts")
    let header = Base64URL.decode(parts[0]).flatMap { JSONValue.parse($0) }
    check(header?["alg"] == .string("HS256"), "accepted without the secret: \(escaped(sent))")
    let claims = Base64URL.decode(parts[1]).flatMap { JSONValue.parse($0) }
    if case .number(let expiry)? = claims?["exp"] {
        check(expiry + 30 >= now, "accepted after exp")
    } else {
        check(false, "accepted without a numeric exp")
    }
    for (name, field) in [("email", identity.email), ("phone", identity.phone), ("external_customer_id", identity.externalCustomerId)] {
        let claim = claims?[name]?.stringValue.map { Array($0.utf8) }
        if let field {
            check(claim.map { containsBytes($0, Array(field.utf8)) } == true, "\(name) is not from its claim")
        } else {
            check(claim.map { $0.allSatisfy { [0x20, 0x09, 0x0D, 0x0A].contains($0) } } ?? true, "\(name) claim dropped")
        }
    }
    return 0
}
