import CCrypto

/// Strong entity tags for the init script and the `If-None-Match` check (RFC 9110 §8.8.3, §13.1.2).
public enum EntityTag {
    /// `"<hex SHA-256 of body>"`: the same bytes always give the same tag, in every process, so
    /// the tag survives restarts and is the same behind a load balancer.
    public static func strong(for body: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        body.withUnsafeBufferPointer { bytes in
            _ = SHA256(bytes.baseAddress, bytes.count, &digest)
        }
        var text: [UInt8] = [UInt8(ascii: "\"")]
        Hex.append(digest, to: &text)
        text.append(UInt8(ascii: "\""))
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether an `If-None-Match` value matches `etag`: `*`, or any tag of the list under the weak
    /// comparison that §13.1.2 prescribes for this header (`W/"x"` matches `"x"`). A malformed
    /// item never matches, so the worst a broken client gets is a full answer.
    public static func ifNoneMatch(_ header: String, matches etag: String) -> Bool {
        let wanted = opaque(Substring(etag))
        var rest = Substring(header)
        while true {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "," }
            guard !rest.isEmpty else { return false }
            if rest.hasPrefix("*") { return true }
            if rest.hasPrefix("W/") { rest = rest.dropFirst(2) }
            guard rest.hasPrefix("\"") else {
                // Not a quoted tag: skip the item.
                rest = rest.drop { $0 != "," }
                continue
            }
            // A quoted tag may not contain `"`, but may contain commas.
            guard let close = rest.dropFirst().firstIndex(of: "\"") else { return false }
            let item = rest[...close]
            rest = rest[rest.index(after: close)...]
            if opaque(item) == wanted { return true }
        }
    }

    /// The tag without its quotes.
    private static func opaque(_ tag: Substring) -> Substring {
        var tag = tag
        if tag.hasPrefix("\"") { tag = tag.dropFirst() }
        if tag.hasSuffix("\"") { tag = tag.dropLast() }
        return tag
    }
}
