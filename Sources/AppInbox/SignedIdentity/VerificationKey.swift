import CCrypto

/// One key that may sign identity tokens, bound to one algorithm. Built once when the
/// configuration is read, then only read, by every worker at once (OpenSSL 3 allows that for
/// both the keyed HMAC template and a public key).
public final class VerificationKey: @unchecked Sendable {
    /// The JWK `kid`, by which a token names its key; nil for a key without one.
    public let id: String?
    /// The one algorithm this key verifies.
    public let algorithm: JWSAlgorithm
    private let material: Material

    private enum Material {
        /// A keyed HMAC-SHA256 context, copied for each verification.
        case secret(OpaquePointer)
        /// An `EVP_PKEY` and its `CCRYPTO_*` kind.
        case publicKey(OpaquePointer, kind: Int32)
    }

    /// RFC 7518 §3.2: an HS256 key must be at least as long as the hash.
    public static let minSecretBytes = 32
    /// Shorter RSA moduli are refused (RFC 7518 §3.3 asks for 2048 bits or more).
    public static let minRSABits = 2048

    private init(id: String?, algorithm: JWSAlgorithm, material: Material) {
        self.id = id
        self.algorithm = algorithm
        self.material = material
    }

    deinit {
        switch material {
        case .secret(let context): ccrypto_hmac_free(context)
        case .publicKey(let key, _): ccrypto_pkey_free(key)
        }
    }

    /// An HS256 key from the shared secret's bytes.
    public static func secret(_ bytes: [UInt8], id: String?) throws(KeyProblem) -> VerificationKey {
        guard bytes.count >= minSecretBytes else {
            throw KeyProblem("an HS256 secret needs at least \(minSecretBytes) bytes; this one has \(bytes.count)")
        }
        guard let context = ccrypto_hmac_sha256_new(bytes, bytes.count) else { throw KeyProblem("OpenSSL could not key HMAC-SHA256") }
        return VerificationKey(id: id, algorithm: .hs256, material: .secret(context))
    }

    /// A public key that OpenSSL built (or nil when it refused the bytes), checked against the
    /// algorithm it is to verify. Takes ownership of `key`.
    static func publicKey(
        _ key: OpaquePointer?, id: String?, algorithm: JWSAlgorithm?, what: String
    ) throws(KeyProblem)
        -> VerificationKey
    {
        guard let key else { throw KeyProblem("\(what) is not a valid public key") }
        var bits: Int32 = 0
        let kind = ccrypto_pkey_kind(key, &bits)
        let natural: JWSAlgorithm?
        switch Int(kind) {
        case Int(CCRYPTO_ED25519): natural = .edDSA
        case Int(CCRYPTO_P256): natural = .es256
        case Int(CCRYPTO_RSA): natural = .rs256
        default: natural = nil
        }
        /// A refusal, with the key freed: it was ours to keep.
        func refused(_ problem: String) -> KeyProblem {
            ccrypto_pkey_free(key)
            return KeyProblem("\(what) \(problem)")
        }
        guard let natural else { throw refused("is neither Ed25519, P-256 nor RSA") }
        if let algorithm, algorithm != natural {
            throw refused("is a key for \(natural.rawValue), not \(algorithm.rawValue)")
        }
        if natural == .rs256, bits < minRSABits {
            throw refused("is a \(bits)-bit RSA key; at least \(minRSABits) bits are needed")
        }
        return VerificationKey(id: id, algorithm: natural, material: .publicKey(key, kind: kind))
    }

    /// Whether `signature` signs `message` under this key; nil when OpenSSL itself failed.
    func verifies(_ message: ArraySlice<UInt8>, signature: [UInt8]) -> Bool? {
        let result = message.withContiguousStorageIfAvailable { message in
            signature.withUnsafeBufferPointer { signature in
                switch material {
                case .secret(let context):
                    ccrypto_hmac_sha256_verify(context, message.baseAddress, message.count, signature.baseAddress, signature.count)
                case .publicKey(let key, let kind):
                    ccrypto_verify(key, kind, message.baseAddress, message.count, signature.baseAddress, signature.count)
                }
            }
        }
        switch result {
        case 1: return true
        case 0: return false
        default: return nil
        }
    }
}

/// What is wrong with a configured key, for the startup or reload report.
public struct KeyProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The explanation.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
