import AppInbox
import FuzzSupport

// If-None-Match against init.js's entity tag. Input: the header, or the header, 0xFF, then a
// tag to compare with (else the real tag of an init script).

let scriptTag = EntityTag.strong(for: Array("/* init.js */\n".utf8))!

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = fields(inputBytes(data, size))
    let header = String(decoding: parts[0], as: UTF8.self)
    let tag = parts.count > 1 ? "\"" + String(decoding: parts[1], as: UTF8.self) + "\"" : scriptTag
    let matches = EntityTag.ifNoneMatch(header, matches: tag)

    check(EntityTag.ifNoneMatch(header, matches: tag) == matches, "not deterministic")
    // Separators in front of the list change nothing.
    check(EntityTag.ifNoneMatch(" ,\t" + header, matches: tag) == matches, "leading separators changed the answer")
    // Without a quote or `*`, nothing is a tag, so nothing matches.
    if !header.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "*") }) {
        check(!matches, "matched without a quoted tag: \(escaped(header.utf8))")
    }

    // The tag itself matches, strong or weak, first in any list; so does `*`. A tag holding `"`
    // is not a valid entity tag (RFC 9110 §8.8.3), so only well-formed ones are checked.
    let opaque = tag.utf8.dropFirst().dropLast()
    if !opaque.contains(UInt8(ascii: "\"")) {
        for prefix in [tag, "W/" + tag, " " + tag + " ", "*"] {
            check(EntityTag.ifNoneMatch(prefix + "," + header, matches: tag), "\(prefix) did not match")
        }
        check(EntityTag.ifNoneMatch(tag, matches: tag), "the tag alone did not match")
    }
    // The real tag is never matched by a list that lacks it and `*`.
    let headerBytes = Array(header.utf8)
    if parts.count == 1, !headerBytes.contains(UInt8(ascii: "*")), !containsBytes(headerBytes, Array(scriptTag.utf8.dropFirst().dropLast())) {
        check(!matches, "matched a list without the tag: \(escaped(header.utf8))")
    }
    return 0
}
