import CCrypto

/// The keys identity tokens may be signed with: a JWKS document (RFC 7517 §5) or one PEM public
/// key, plus an HS256 secret. Immutable: a reload builds a new set.
public struct SignedIdentityKeys: Sendable {
    /// Every key, in the order the files list them (the secret file's last).
    public let keys: [VerificationKey]

    /// A JWKS with more keys than this is refused: a rotation needs two or three.
    public static let maxKeys = 64

    /// Wraps keys already built.
    public init(_ keys: [VerificationKey]) {
        self.keys = keys
    }

    /// The keys a token with this header may be checked against: bound to its algorithm and,
    /// when it names a `kid`, carrying that `kid`.
    func candidates(algorithm: JWSAlgorithm, keyID: String?) -> [VerificationKey] {
        keys.filter { key in
            key.algorithm == algorithm && keyID.map { id in key.id?.utf8.elementsEqual(id.utf8) == true } ?? true
        }
    }

    /// The keys of a key file: a JWKS (`{"keys":[…]}`), one JWK, or a PEM public key (whose
    /// algorithm follows from its type and which has no `kid`).
    public static func parse(file bytes: [UInt8]) throws(KeyProblem) -> [VerificationKey] {
        if bytes.starts(with: "-----BEGIN".utf8) {
            let key = bytes.withUnsafeBufferPointer { ccrypto_pkey_from_pem($0.baseAddress, $0.count) }
            return [try VerificationKey.publicKey(key, id: nil, algorithm: nil, what: "the PEM file")]
        }
        guard case .object(let document)? = JSONValue.parse(bytes) else {
            throw KeyProblem("is neither a JWKS (JSON with \"keys\"), a JWK nor a PEM public key")
        }
        let members: [JSONValue]
        if document["kty"] != nil {
            members = [.object(document)]
        } else if case .array(let list)? = document["keys"] {
            members = list
        } else {
            throw KeyProblem("a JWKS needs a \"keys\" array")
        }
        guard !members.isEmpty else { throw KeyProblem("the JWKS lists no keys") }
        guard members.count <= maxKeys else { throw KeyProblem("the JWKS lists more than \(maxKeys) keys") }
        var keys: [VerificationKey] = []
        for (index, member) in members.enumerated() {
            guard case .object(let jwk) = member else { throw KeyProblem("key \(index + 1) is not a JSON object") }
            let key = try JSONWebKey.verificationKey(jwk, what: "key \(index + 1)")
            if let id = key.id, keys.contains(where: { $0.id.map { $0.utf8.elementsEqual(id.utf8) } == true }) {
                throw KeyProblem("two keys have the kid \"\(id)\"")
            }
            keys.append(key)
        }
        return keys
    }
}

/// One JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2) as a verification key.
enum JSONWebKey {
    static func verificationKey(_ jwk: [String: JSONValue], what: String) throws(KeyProblem) -> VerificationKey {
        guard let type = jwk["kty"]?.stringValue else { throw KeyProblem("\(what) has no \"kty\"") }
        let id = try optionalString(jwk, "kid", what: what)
        let named = try optionalString(jwk, "alg", what: what)
        var algorithm: JWSAlgorithm?
        if let named {
            guard let known = JWSAlgorithm(rawValue: named) else {
                throw KeyProblem("\(what) has alg \"\(named)\"; HS256, EdDSA, ES256 and RS256 are accepted")
            }
            algorithm = known
        }
        if let use = try optionalString(jwk, "use", what: what), use != "sig" {
            throw KeyProblem("\(what) has use \"\(use)\", not \"sig\"")
        }
        if let operations = jwk["key_ops"] {
            guard case .array(let list) = operations, list.contains(.string("verify")) else {
                throw KeyProblem("\(what) has key_ops without \"verify\"")
            }
        }
        let label = id.map { "\(what) (kid \"\($0)\")" } ?? what
        switch type {
        case "oct":
            if let algorithm, algorithm != .hs256 { throw KeyProblem("\(label) is a secret: its alg can only be HS256") }
            return try VerificationKey.secret(try bytes(jwk, "k", what: label), id: id)
        case "OKP", "EC", "RSA":
            // The server verifies and must not hold what signs: a private part is a mistake to fix.
            for privatePart in ["d", "p", "q", "dp", "dq", "qi"] where jwk[privatePart] != nil {
                throw KeyProblem("\(label) holds a private key (\"\(privatePart)\"); give the public part only")
            }
            return try VerificationKey.publicKey(try publicKey(type, jwk, what: label), id: id, algorithm: algorithm, what: label)
        default:
            throw KeyProblem("\(label) has kty \"\(type)\"; oct, OKP, EC and RSA are accepted")
        }
    }

    private static func publicKey(_ type: String, _ jwk: [String: JSONValue], what: String) throws(KeyProblem) -> OpaquePointer? {
        switch type {
        case "OKP":
            guard jwk["crv"]?.stringValue == "Ed25519" else { throw KeyProblem("\(what) is OKP but not crv Ed25519") }
            let x = try bytes(jwk, "x", what: what)
            return x.withUnsafeBufferPointer { ccrypto_pkey_ed25519($0.baseAddress, $0.count) }
        case "EC":
            guard jwk["crv"]?.stringValue == "P-256" else { throw KeyProblem("\(what) is EC but not crv P-256") }
            let x = try bytes(jwk, "x", what: what)
            let y = try bytes(jwk, "y", what: what)
            return x.withUnsafeBufferPointer { x in
                y.withUnsafeBufferPointer { y in ccrypto_pkey_p256(x.baseAddress, x.count, y.baseAddress, y.count) }
            }
        default:
            let n = try bytes(jwk, "n", what: what)
            let e = try bytes(jwk, "e", what: what)
            let bits = n.drop { $0 == 0 }.count * 8
            guard bits >= VerificationKey.minRSABits else {
                throw KeyProblem("\(what) is a \(bits)-bit RSA key; at least \(VerificationKey.minRSABits) bits are needed")
            }
            return n.withUnsafeBufferPointer { n in
                e.withUnsafeBufferPointer { e in ccrypto_pkey_rsa(n.baseAddress, n.count, e.baseAddress, e.count) }
            }
        }
    }

    private static func optionalString(_ jwk: [String: JSONValue], _ name: String, what: String) throws(KeyProblem) -> String? {
        guard let value = jwk[name] else { return nil }
        guard let text = value.stringValue else { throw KeyProblem("\(what) has a \"\(name)\" that is not a string") }
        return text
    }

    private static func bytes(_ jwk: [String: JSONValue], _ name: String, what: String) throws(KeyProblem) -> [UInt8] {
        guard let text = jwk[name]?.stringValue, let bytes = Base64URL.decode(text), !bytes.isEmpty else {
            throw KeyProblem("\(what) needs \"\(name)\" in base64url")
        }
        return bytes
    }
}
