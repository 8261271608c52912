import CCrypto

/// A keyed digest of an identity: the cache, the rate limiter and the fleet's Redis know users by
/// this alone, so no email or phone number sits in their tables. The key is random per process,
/// or in fleet mode derived from the fleet's shared secret; either way the digests mean nothing
/// to whoever lacks it.
public struct IdentityKey: Hashable, Sendable {
    let digest: Digest256
}

/// Computes `IdentityKey`s with HMAC-SHA256 under a secret made at startup.
public struct IdentityHasher: Sendable {
    private let secret: [UInt8]

    /// Keys under a secret the fleet shares (`FleetSecret.identityKey`), the same on every host.
    init(secret: [UInt8]) {
        self.secret = secret
    }

    /// Draws a fresh 32-byte secret from OpenSSL's CSPRNG.
    public init() throws(SetupError) {
        var bytes = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else {
            throw SetupError(function: "RAND_bytes", detail: "no randomness available")
        }
        secret = bytes
    }

    /// The key of an identity by OpenSSL's one-shot HMAC: the independent reference that the
    /// tests hold each worker's `IdentityKeyer` to (workers never call this); nil when OpenSSL
    /// fails. Never a default key: an all-zero digest would give every user one key.
    func key(for identity: ContactIdentity) -> IdentityKey? {
        let message = Self.message(for: identity)
        var digest = [UInt8](repeating: 0, count: 32)
        guard ccrypto_hmac_sha256_once(secret, secret.count, message, message.count, &digest) == 1 else { return nil }
        return IdentityKey(digest: Digest256(bytes: digest))
    }

    /// A keyer for one worker thread: same keys as `key(for:)`, without per-call set-up.
    public func makeKeyer() throws(SetupError) -> IdentityKeyer {
        guard let context = ccrypto_hmac_sha256_new(secret, secret.count) else {
            throw SetupError(function: "EVP_MAC_init", detail: "HMAC-SHA256 is not available")
        }
        return IdentityKeyer(context: context)
    }

    /// Each present field, labelled and length-prefixed, so that an email can never collide with
    /// an external id of the same text, nor fields shift into one another.
    static func message(for identity: ContactIdentity) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(64)
        for (label, value) in [("e", identity.email), ("p", identity.phone), ("x", identity.externalCustomerId)] {
            guard let value else { continue }
            message.append(contentsOf: label.utf8)
            message.append(contentsOf: String(value.utf8.count).utf8)
            message.append(UInt8(ascii: ":"))
            message.append(contentsOf: value.utf8)
        }
        return message
    }
}

/// One worker's keyed HMAC context (OpenSSL's, reused for every request). Not thread-safe.
public final class IdentityKeyer {
    private let context: OpaquePointer

    init(context: OpaquePointer) {
        self.context = context
    }

    deinit {
        ccrypto_hmac_free(context)
    }

    /// The key of an identity; the same as `IdentityHasher.key(for:)` of the hasher it came from.
    /// Nil when OpenSSL fails: the caller must then keep this request out of the cache and the
    /// limiter rather than file it under a key shared with other users.
    public func key(for identity: ContactIdentity) -> IdentityKey? {
        let message = IdentityHasher.message(for: identity)
        var digest = [UInt8](repeating: 0, count: 32)
        guard ccrypto_hmac_sha256(context, message, message.count, &digest) == 1 else { return nil }
        return IdentityKey(digest: Digest256(bytes: digest))
    }
}
