import CCrypto

/// Tokens that verified, by their SHA-256, with the identity each vouches for. A browser sends
/// the same cookie with every token request until the site issues a new one, and checking it
/// again would repeat the signature check and the parsing for the same answer. Only the times
/// are checked again. A token that was refused is not remembered: only the key holder can add
/// entries. Belongs to one `SignedIdentity`, so new keys or claims (a reload) start empty.
final class VerifiedTokens: Sendable {
    /// What a verified token vouches for, and when.
    struct Entry: Sendable {
        let identity: ContactIdentity
        let expiry: Double
        /// The later of `nbf` and `iat`, when either was given.
        let validFrom: Double?
    }

    /// The most tokens remembered; the oldest is forgotten beyond it (about 200 bytes each).
    static let capacity = 8192

    private struct Table {
        var entries: [Digest: Entry] = [:]
        /// Digests in the order they came, to forget the oldest.
        var order: [Digest] = []
        var next = 0
    }

    private let table = ReadWriteLock(Table())

    /// A token's SHA-256.
    typealias Digest = Digest256

    /// The digest of `token`; nil when OpenSSL failed (the token is then verified every time).
    static func digest(_ token: ArraySlice<UInt8>) -> Digest? {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let done = token.withContiguousStorageIfAvailable { bytes in
            withUnsafeMutableBytes(of: &words) { output in
                ccrypto_sha256(bytes.baseAddress, bytes.count, output.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return done == 1 ? Digest(words: words) : nil
    }

    func entry(_ digest: Digest) -> Entry? {
        table.read { $0.entries[digest] }
    }

    func remember(_ digest: Digest, _ entry: Entry) {
        table.write { table in
            guard table.entries.updateValue(entry, forKey: digest) == nil else { return }
            if table.order.count < Self.capacity {
                table.order.append(digest)
            } else {
                table.entries[table.order[table.next]] = nil
                table.order[table.next] = digest
                table.next = (table.next + 1) % Self.capacity
            }
        }
    }

    /// How many tokens are remembered (tests).
    var count: Int { table.read { $0.entries.count } }
}
