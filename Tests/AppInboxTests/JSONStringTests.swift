import Testing

@testable import AppInbox

/// Tokens a misbehaving or hostile upstream could send, all of which must reach the client intact.
private let oddTokens: [String] = [
    "", "plain.jwt-like_token~123", #"quote " inside"#, #"back\slash \\ and \""#, "</script><script>alert(1)</script>",
    "<!-- x -->", "a & b > c < d", "line\u{2028}separator", "paragraph\u{2029}separator", "emoji 😀👍🏽 🇺🇦",
    "Київ, Zürich, 東京", "tab\tnew\nline\rreturn", "nul\u{0}byte", "\u{1}\u{8}\u{B}\u{C}\u{1B}\u{1F}\u{7F}",
    "c1 \u{80}\u{85}\u{9F}", "slash / and \\/", "\u{FEFF}bom", "\u{10FFFF}", String(repeating: "x\"", count: 500),
]

/// Bytes of `needle` found anywhere in `haystack`.
private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<$0 + needle.count]) == needle }
}

@Suite("JSONString and TokenAnswer")
struct JSONStringTests {
    @Test(arguments: oddTokens)
    func tokenAnswerRoundTrips(_ token: String) throws {
        let body = TokenAnswer.body(token)
        let json = try #require(JSONValue.parse(body), "not JSON: \(String(decoding: body, as: UTF8.self))")
        #expect(json == .object(["token": .string(token)]))
        let decoded = try #require(json["token"]?.stringValue)
        #expect(Array(decoded.utf8) == Array(token.utf8))
    }

    @Test(arguments: oddTokens)
    func encodedStringRoundTrips(_ text: String) throws {
        let encoded = JSONString.encode(text)
        #expect(JSONValue.parse(Array(encoded.utf8)) == .string(text))
    }

    @Test(arguments: oddTokens)
    func outputIsSafeInsideScriptAndJavaScript(_ token: String) {
        let body = TokenAnswer.body(token)
        #expect(!contains(body, Array("</".utf8)))
        #expect(!contains(body, Array("<!--".utf8)))
        #expect(!contains(body, [0xE2, 0x80, 0xA8]))  // raw U+2028
        #expect(!contains(body, [0xE2, 0x80, 0xA9]))  // raw U+2029
        #expect(!body.contains { $0 < 0x20 || $0 == 0x7F })
        #expect(!body.contains(UInt8(ascii: "<")))
        #expect(!body.contains(UInt8(ascii: ">")))
    }

    @Test func exactEscapes() {
        #expect(JSONString.encode("") == #""""#)
        #expect(JSONString.encode("abc") == #""abc""#)
        #expect(JSONString.encode("\"") == #""\"""#)
        #expect(JSONString.encode("\\") == #""\\""#)
        #expect(JSONString.encode("\n\r\t") == #""\n\r\t""#)
        #expect(JSONString.encode("\u{0}\u{1F}\u{7F}") == #""\u0000\u001f\u007f""#)
        #expect(JSONString.encode("</script>") == #""\u003c/script\u003e""#)
        #expect(JSONString.encode("a&b") == #""a\u0026b""#)
        #expect(JSONString.encode("\u{2028}\u{2029}") == #""\u2028\u2029""#)
    }

    @Test func nonASCIIIsWrittenAsUTF8() {
        #expect(JSONString.encode("é😀") == "\"é😀\"")
    }

    @Test func appendAddsToExistingBytes() {
        var output = Array("[".utf8)
        JSONString.append("a", to: &output)
        output.append(UInt8(ascii: ","))
        JSONString.append("</b>", to: &output)
        output.append(UInt8(ascii: "]"))
        #expect(JSONValue.parse(output) == .array([.string("a"), .string("</b>")]))
    }

    @Test func tokenAnswerShape() {
        #expect(String(decoding: TokenAnswer.body("abc"), as: UTF8.self) == #"{"token":"abc"}"#)
        #expect(String(decoding: TokenAnswer.body(""), as: UTF8.self) == #"{"token":""}"#)
    }
}
