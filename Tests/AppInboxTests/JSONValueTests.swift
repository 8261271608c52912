import Testing

@testable import AppInbox

private func parse(_ text: String) -> JSONValue? {
    JSONValue.parse(Array(text.utf8))
}

@Suite("JSONValue.parse")
struct JSONValueTests {
    @Test func validDocument() {
        let text = #" { "token" : "abc", "n": [1, -2.5, 3e2, 0, -0, 1E-2, 0.5], "t": true, "f": false, "z": null, "o": {} , "a": [] } "#
        #expect(
            parse(text)
                == .object([
                    "token": .string("abc"),
                    "n": .array([.number(1), .number(-2.5), .number(300), .number(0), .number(0), .number(0.01), .number(0.5)]),
                    "t": .bool(true), "f": .bool(false), "z": .null, "o": .object([:]), "a": .array([]),
                ]))
    }

    @Test func scalarDocuments() {
        #expect(parse("\"x\"") == .string("x"))
        #expect(parse("42") == .number(42))
        #expect(parse("true") == .bool(true))
        #expect(parse("null") == .null)
        #expect(parse(" \t\r\n[]\n") == .array([]))
    }

    @Test func subscriptAndStringValue() {
        let value = parse(#"{"token":"t","n":1}"#)
        #expect(value?["token"]?.stringValue == "t")
        #expect(value?["n"]?.stringValue == nil)
        #expect(value?["missing"] == nil)
        #expect(parse(#"["token"]"#)?["token"] == nil)
    }

    @Test func escapes() {
        #expect(parse(#""\" \\ \/ \b \f \n \r \t""#) == .string("\" \\ / \u{8} \u{C} \n \r \t"))
        #expect(parse(#""\u0041\u00e9\u20AC\u0000""#) == .string("Aé€\u{0}"))
        #expect(parse(#""\u2028""#) == .string("\u{2028}"))
    }

    @Test func surrogatePairs() {
        #expect(parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(parse(#""\uD83C\uDDFA\uD83C\uDDE6""#) == .string("🇺🇦"))
        #expect(parse(#""\udbff\udfff""#) == .string("\u{10FFFF}"))
    }

    @Test func rawUTF8() {
        #expect(parse("\"Київ 😀\"") == .string("Київ 😀"))
    }

    @Test(arguments: [
        #""\ud83d""#, #""\ude00""#, #""\ud83d x""#, #""\ud83d\u0041""#, #""\ud83d\ud83d""#, #""\udc00\ud800""#,
        #""\ud83d\n""#,
    ])
    func loneSurrogatesAreRejected(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test(arguments: [
        "{} x", "{}{}", "1 2", "[1] ,", "\"a\" \"b\"", "null0", "truex", "{\"a\":1}}", "[1]]",
    ])
    func trailingGarbageIsRejected(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test(arguments: [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] as [UInt8])
    func unescapedControlCharactersInStringsAreRejected(_ byte: UInt8) {
        #expect(JSONValue.parse([0x22, 0x61, byte, 0x62, 0x22]) == nil)
    }

    @Test(arguments: ["01", "-01", "00", "[01]", "{\"a\":007}", "-", "+1", ".5", "1.", "1e", "1e+", "0x10", "NaN", "Infinity", "- 1"])
    func malformedNumbersAreRejected(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test func zeroAndFractionsWithLeadingZeroAreFine() {
        #expect(parse("0") == .number(0))
        #expect(parse("0.25") == .number(0.25))
        #expect(parse("-0.5e1") == .number(-5))
    }

    @Test(arguments: [
        "", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{'a':1}", "'a'",
        "\"unterminated", "\"bad \\x escape\"", "\"\\u12G4\"", "\"\\u12\"", "tru", "nul", "True",
    ])
    func malformedDocumentsAreRejected(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test func invalidUTF8InStringsIsRejected() {
        #expect(JSONValue.parse([0x22, 0x61, 0xFF, 0x22]) == nil)
        #expect(JSONValue.parse([0x22, 0xC3, 0x22]) == nil)
        #expect(JSONValue.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) == nil)
    }

    @Test func nestingUpToSixtyFourIsAccepted() {
        #expect(parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) != nil)
        #expect(parse(String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64)) != nil)
    }

    @Test func nestingDeeperThanSixtyFourIsRejected() {
        #expect(parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65)) == nil)
        #expect(parse(String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65)) == nil)
        #expect(parse(String(repeating: "[{\"a\":", count: 33) + "1" + String(repeating: "}]", count: 33)) == nil)
    }

    @Test func hostileNestingDoesNotCrash() {
        #expect(parse(String(repeating: "[", count: 100_000)) == nil)
        #expect(parse(String(repeating: "{\"a\":", count: 100_000)) == nil)
    }
}
