/// 32 bytes of SHA-256 or HMAC-SHA256 output held as four words: a table key that is cheap to
/// hash (two words suffice, the bytes being uniformly spread already) and compared whole.
struct Digest256: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// The digest of 32 bytes, big-endian words.
    init(bytes: [UInt8]) {
        func word(_ offset: Int) -> UInt64 {
            bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        words = (word(0), word(8), word(16), word(24))
    }

    /// The 32 bytes again, big-endian.
    var bytes: [UInt8] {
        [words.0, words.1, words.2, words.3].flatMap { word in (0..<8).reversed().map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
    }

    static func == (lhs: Digest256, rhs: Digest256) -> Bool {
        lhs.words == rhs.words
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }
}
