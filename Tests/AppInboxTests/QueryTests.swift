import Testing

@testable import AppInbox

@Suite("Query")
struct QueryTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("a+b", "a b"),
        ("a%20b", "a b"),
        ("%2B", "+"),
        ("1%2b1%3D2", "1+1=2"),
        ("%e2%82%ac", "€"),
        ("%E2%82%AC", "€"),
        ("%41%42%43", "ABC"),
        ("%3Cscript%3E", "<script>"),
    ])
    func percentDecoding(_ raw: String, _ decoded: String) {
        #expect(Query.decode(Substring(raw)) == decoded)
    }

    @Test(arguments: ["%", "100%", "%4", "a%4", "%zz", "%g1", "%1g", "%%", "%+1"])
    func malformedEscapesAreKeptAsWritten(_ raw: String) {
        let expected = raw.replacingPlus()
        #expect(Query.decode(Substring(raw)) == expected)
    }

    @Test func malformedEscapeNextToAValidOne() {
        #expect(Query.decode("%%41") == "%A")
        #expect(Query.decode("%4%41") == "%4A")
    }

    @Test func invalidUTF8IsRepairedNotFatal() {
        #expect(Query.decode("%FFa") == "\u{FFFD}a")
    }

    @Test func pairsInOrder() {
        let query = Query("lang=uk&fresh=1&flag&empty=&eq=a=b&&lang=de")
        #expect(query.items.map(\.name) == ["lang", "fresh", "flag", "empty", "eq", "lang"])
        #expect(query["lang"] == "uk")
        #expect(query["fresh"] == "1")
        #expect(query["flag"] == "")
        #expect(query["empty"] == "")
        #expect(query["eq"] == "a=b")
        #expect(query["missing"] == nil)
    }

    @Test func namesAndValuesAreDecoded() {
        let query = Query("my+name=J%C3%BCrgen+M%C3%BCller&a%26b=c%3Dd")
        #expect(query["my name"] == "Jürgen Müller")
        #expect(query["a&b"] == "c=d")
    }

    @Test func emptyQuery() {
        #expect(Query("").items.isEmpty)
        #expect(Query("&&").items.isEmpty)
        #expect(Query("") == Query("&"))
        #expect(Query("a=1") != Query("a=2"))
    }
}

extension String {
    fileprivate func replacingPlus() -> String {
        String(map { $0 == "+" ? " " : $0 })
    }

    /// `&` and `=` are found by byte even where a combining mark follows (found by fuzzing).
    @Test func combiningMarksDoNotJoinPairs() {
        let query = Query("a&\u{301}=1&lang=uk")
        #expect(query.items.count == 3)
        #expect(query["\u{301}"] == "1")
        #expect(query["lang"] == "uk")
    }

    @Test func theQueryOfARequestURIIsFoundByByte() {
        let request = Request(params: ["REQUEST_URI": "/app-inbox/init.js?\u{301}&lang=uk"])
        #expect(RequestTarget.query(of: request)["lang"] == "uk")
    }
}
