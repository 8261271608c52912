import AppInbox
import FuzzSupport

// The request target: Query's form decoding, Route.match and RequestTarget's path and query.
// Input: one string, used as a query string, as REQUEST_URI and as a path.

let basePaths = ["/app-inbox", ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = inputBytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)

    // The pairs are those of the bytes split at `&`, then at the first `=` (a form is bytes:
    // a combining mark after `&` or `=` does not make them part of another character).
    let query = Query(text)
    let expected = text.utf8.split(separator: UInt8(ascii: "&")).map { pair in
        let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
        return (
            Query.decode(Substring(String(decoding: parts[0], as: UTF8.self))),
            parts.count > 1 ? Query.decode(Substring(String(decoding: parts[1], as: UTF8.self))) : ""
        )
    }
    check(
        query.items.elementsEqual(expected) { sameBytes($0.name, $1.0) && sameBytes($0.value, $1.1) },
        "pairs of \(escaped(text.utf8)): \(query.items.count), not \(expected.count) as split by bytes")

    // Every decoded pair, percent-encoded again, decodes to the same bytes.
    let encoded = query.items.map { percentEncoded($0.name) + "=" + percentEncoded($0.value) }.joined(separator: "&")
    let again = Query(encoded)
    check(again.items.count == query.items.count, "re-encoded query has \(again.items.count) pairs")
    for (lhs, rhs) in zip(query.items, again.items) {
        check(sameBytes(lhs.name, rhs.name) && sameBytes(lhs.value, rhs.value), "pair changed: \(escaped(encoded.utf8))")
    }
    if let first = query.items.first {
        check(query[first.name] != nil, "first name not found")
    }

    // Routes match exactly `<base>/<name>`, by bytes.
    for base in basePaths {
        let route = Route.match(path: Substring(text), basePath: base)
        let expected = Route.allCases.first { (base + "/" + $0.rawValue).utf8.elementsEqual(text.utf8) }
        check(route == expected, "\(escaped(text.utf8)) routed to \(String(describing: route)) under '\(base)'")
    }

    // REQUEST_URI: the path is the text before `?` or `#`; the query is the text after `?`.
    let request = Request(param: { $0 == "REQUEST_URI" ? bytes : nil })
    let path = RequestTarget.path(of: request)
    let uri = request.string("REQUEST_URI") ?? ""
    check(uri.utf8.starts(with: path.utf8), "path is not a prefix of the URI")
    check(!path.utf8.contains { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }, "path holds ? or #")
    let target = RequestTarget.query(of: request)
    if let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
        check(target == Query(String(uri[uri.utf8.index(after: mark)...])), "query is not the text after ?")
    } else {
        check(target.items.isEmpty, "a query without ?")
    }
    // QUERY_STRING, when set, wins over the URI.
    let both = Request(param: { $0 == "QUERY_STRING" ? bytes : $0 == "REQUEST_URI" ? Array("/x?a=b".utf8) : nil })
    check(RequestTarget.query(of: both) == query, "QUERY_STRING not preferred")
    return 0
}

/// Percent-encodes every byte but unreserved ones (RFC 3986), so nothing is read as `&`, `=` or `+`.
func percentEncoded(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var output: [UInt8] = []
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            output.append(byte)
        default: output += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        }
    }
    return String(decoding: output, as: UTF8.self)
}
