import CCrypto

/// Strong entity tags for the init script and the `If-None-Match` check (RFC 9110 §8.8.3, §13.1.2).
public enum EntityTag {
    /// `"<hex SHA-256 of body>"`: the same bytes always give the same tag, in every process, so
    /// the tag survives restarts and is the same behind a load balancer. Nil when OpenSSL fails:
    /// then no tag is sent, rather than one tag (of zeros) shared by every language's script.
    public static func strong(for body: [UInt8]) -> String? {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        let hashed = body.withUnsafeBufferPointer { bytes in
            SHA256(bytes.baseAddress, bytes.count, &digest)
        }
        guard hashed != nil else { return nil }
        var text: [UInt8] = [UInt8(ascii: "\"")]
        Hex.append(digest, to: &text)
        text.append(UInt8(ascii: "\""))
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether an `If-None-Match` value matches `etag`: `*`, or any tag of the list under the weak
    /// comparison that §13.1.2 prescribes for this header (`W/"x"` matches `"x"`). A malformed
    /// item never matches, so the worst a broken client gets is a full answer.
    ///
    /// Compared by bytes: `String` comparison is Unicode canonical equivalence, and a tag is an
    /// opaque octet string (RFC 9110 §8.8.3).
    public static func ifNoneMatch(_ header: String, matches etag: String) -> Bool {
        let wanted = opaque(etag.utf8[...])
        var rest = header.utf8[...]
        let quote = UInt8(ascii: "\"")
        while true {
            rest = rest.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: ",") }
            guard let first = rest.first else { return false }
            if first == UInt8(ascii: "*") { return true }
            if rest.starts(with: "W/".utf8) { rest = rest.dropFirst(2) }
            guard rest.first == quote else {
                // Not a quoted tag: skip the item.
                rest = rest.drop { $0 != UInt8(ascii: ",") }
                continue
            }
            // A quoted tag may not contain `"`, but may contain commas.
            guard let close = rest.dropFirst().firstIndex(of: quote) else { return false }
            let item = rest[...close]
            rest = rest[rest.index(after: close)...]
            if opaque(item).elementsEqual(wanted) { return true }
        }
    }

    /// The tag without its quotes.
    private static func opaque(_ tag: Substring.UTF8View) -> Substring.UTF8View {
        var tag = tag
        if tag.first == UInt8(ascii: "\"") { tag = tag.dropFirst() }
        if tag.last == UInt8(ascii: "\"") { tag = tag.dropLast() }
        return tag
    }
}
