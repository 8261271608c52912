import AppInbox
import FuzzSupport

// eSputnik's answer body: JSONValue.parse and the mapping of status + body to a verdict.
// Input: the body bytes.

/// Statuses whose verdict never depends on the body; none of them may yield a token.
let otherStatuses = [0, 100, 201, 204, 301, 400, 401, 403, 404, 429, 500, 502, 503, 599, 600]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = inputBytes(data, size)
    let parsed = JSONValue.parse(body)

    // A parsed document serialises and parses back to the same document, byte for byte.
    if let parsed, let text = serialize(parsed) {
        let again = JSONValue.parse(text)
        check(again != nil, "serialised form does not parse: \(escaped(text))")
        if let again {
            check(serialize(again) == text, "round trip changed \(escaped(text))")
        }
    }

    let verdict = UpstreamAttempt.answered(status: 200, body: body, retryAfter: nil).verdict
    switch verdict {
    case .token(let token):
        check(sameBytes(parsed?["token"]?.stringValue, token), "verdict token differs from the body's")
        // Our answer carries the token byte-exact, and is safe inside <script> and JS strings.
        let answer = TokenAnswer.body(token)
        check(sameBytes(JSONValue.parse(answer)?["token"]?.stringValue, token), "token answer does not round-trip")
        checkEmbeddable(answer)
    case .fail(let failure):
        check(parsed?["token"]?.stringValue == nil, "a string token was refused")
        check(failure == .badResponse, "200 without a token gave \(failure)")
        checkErrorBody(failure.apiError)
    case .retry:
        check(false, "a 200 answer was retried")
    }

    for status in otherStatuses {
        if case .token = UpstreamAttempt.answered(status: status, body: body, retryAfter: 7).verdict {
            check(false, "HTTP \(status) gave a token")
        }
    }
    return 0
}

/// An error answer is JSON with a string `error`, never echoing the upstream body.
func checkErrorBody(_ error: APIError) {
    let response = error.response
    check(JSONValue.parse(response.body)?["error"]?.stringValue != nil, "error body is not our JSON")
    check((400...599).contains(response.status), "error status \(response.status)")
}

/// No control bytes, `<`, `>`, `&`, U+2028 or U+2029 in a body meant for scripts.
func checkEmbeddable(_ bytes: [UInt8]) {
    for (index, byte) in bytes.enumerated() {
        check(byte >= 0x20 && byte != 0x7F, "control byte in answer")
        check(byte != UInt8(ascii: "<") && byte != UInt8(ascii: ">") && byte != UInt8(ascii: "&"), "unescaped <, > or &")
        if byte == 0xE2, index + 2 < bytes.count, bytes[index + 1] == 0x80 {
            check(bytes[index + 2] != 0xA8 && bytes[index + 2] != 0xA9, "unescaped U+2028/U+2029")
        }
    }
}
