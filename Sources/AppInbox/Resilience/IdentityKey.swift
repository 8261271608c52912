import CCrypto

/// A keyed digest of an identity: the cache and the rate limiter remember users by this alone,
/// so no email or phone number sits in their tables, and the per-process random key means the
/// digests mean nothing outside this process.
public struct IdentityKey: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    public static func == (lhs: IdentityKey, rhs: IdentityKey) -> Bool {
        lhs.words == rhs.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }
}

/// Computes `IdentityKey`s with HMAC-SHA256 under a secret made at startup.
public struct IdentityHasher: Sendable {
    private let secret: [UInt8]

    /// Draws a fresh 32-byte secret from OpenSSL's CSPRNG.
    public init() throws(UpstreamSetupError) {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else {
            throw UpstreamSetupError(function: "RAND_bytes", detail: "no randomness available")
        }
        secret = bytes
    }

    /// The key of an identity: each present field, labelled, so that an email can never
    /// collide with an external id of the same text.
    public func key(for identity: ContactIdentity) -> IdentityKey {
        var message: [UInt8] = []
        for (label, value) in [("e", identity.email), ("p", identity.phone), ("x", identity.externalCustomerId)] {
            guard let value else { continue }
            message.append(contentsOf: label.utf8)
            message.append(contentsOf: String(value.utf8.count).utf8)
            message.append(UInt8(ascii: ":"))
            message.append(contentsOf: value.utf8)
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = secret.withUnsafeBytes { key in
            HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), message, message.count, &digest, &length)
        }
        func word(_ offset: Int) -> UInt64 {
            digest[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        return IdentityKey(words: (word(0), word(8), word(16), word(24)))
    }
}
