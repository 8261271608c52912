import Testing

@testable import AppInbox

@Suite("Base64")
struct Base64Tests {
    /// RFC 4648 §10.
    static let vectors: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test(arguments: vectors)
    func rfc4648Vectors(_ plain: String, _ encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func basicAuthCredentials() {
        // The example of RFC 7617 §2.
        #expect(Base64.encode(Array("Aladdin:open sesame".utf8)) == "QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    }

    @Test func usesTheStandardAlphabetWithPlusAndSlash() {
        #expect(Base64.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(Base64.encode([0x00, 0x00, 0x00]) == "AAAA")
        #expect(Base64.decode("+/+/") == [0xFB, 0xFF, 0xBF])
    }

    @Test func roundTripOfEveryByteAndLength() {
        let all = (0...255).map { UInt8($0) }
        for length in 0...all.count {
            let bytes = Array(all[0..<length])
            let encoded = Base64.encode(bytes)
            #expect(encoded.utf8.count == (length + 2) / 3 * 4)
            #expect(Base64.decode(encoded) == bytes, "length \(length)")
        }
        let reversed = Array(all.reversed())
        #expect(Base64.decode(Base64.encode(reversed)) == reversed)
    }

    @Test(arguments: ["Zg=", "Zg", "Z", "Zm9vY", "Z===", "====", "Zg==Zg==", "Zm9v!", "Zm9v YmFy", "Zm9-", "Zm9_", "Zg=a"])
    func invalidTextIsRejected(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
