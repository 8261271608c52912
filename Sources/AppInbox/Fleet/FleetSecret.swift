import CCrypto

/// What every responder of a fleet derives from the secret they share
/// (`APP_INBOX_CACHE_KEY_FILE`), each by HMAC-SHA256 under its own label, so that no use of the
/// secret reveals another: the identity key that names a user in Redis (the same HMAC on every
/// host, or the fleet could not share one limit), the AES-256-GCM key that seals what Redis
/// holds, and a namespace, so that two sites sharing one Redis never share a key.
public struct FleetSecret: Sendable {
    let identityKey: [UInt8]
    let sealKey: [UInt8]
    /// 16 hex digits, part of every Redis key of this fleet.
    let namespace: String

    /// The shortest secret accepted, in bytes.
    public static let minimumBytes = 32

    /// Derives the keys; nil when OpenSSL fails.
    public init?(secret: [UInt8]) {
        guard let identityKey = Self.derive(secret, "app-inbox-fcgi identity key v1"),
            let sealKey = Self.derive(secret, "app-inbox-fcgi seal key v1"),
            let namespace = Self.derive(secret, "app-inbox-fcgi namespace v1")
        else { return nil }
        self.identityKey = identityKey
        self.sealKey = sealKey
        self.namespace = Hex.encode(Array(namespace.prefix(8)))
    }

    private static func derive(_ secret: [UInt8], _ label: String) -> [UInt8]? {
        var digest = [UInt8](repeating: 0, count: 32)
        let message = Array(label.utf8)
        return ccrypto_hmac_sha256_once(secret, secret.count, message, message.count, &digest) == 1 ? digest : nil
    }

    /// `plain` sealed with AES-256-GCM and bound to `binding` (the identity key it is stored
    /// under): a value copied to another user's key does not open. Nil when OpenSSL fails.
    func seal(_ plain: [UInt8], boundTo binding: [UInt8]) -> [UInt8]? {
        var sealed = [UInt8](repeating: 0, count: ccrypto_sealed_length(plain.count))
        guard ccrypto_seal(sealKey, binding, binding.count, plain, plain.count, &sealed) == 1 else { return nil }
        return sealed
    }

    /// What `seal` sealed; nil when the value was not sealed under this fleet's key and
    /// `binding`, or was changed.
    func open(_ sealed: [UInt8], boundTo binding: [UInt8]) -> [UInt8]? {
        var plain = [UInt8](repeating: 0, count: max(sealed.count, 1))
        let length = ccrypto_open(sealKey, binding, binding.count, sealed, sealed.count, &plain)
        guard length >= 0 else { return nil }
        return Array(plain.prefix(length))
    }
}
