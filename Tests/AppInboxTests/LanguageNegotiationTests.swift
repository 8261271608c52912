import Testing

@testable import AppInbox

/// `Accept-Language` headers and the language they must pick from `en, uk, de` (default `en`).
private let acceptLanguageTable: [(header: String?, expected: String)] = [
    (nil, "en"),
    ("", "en"),
    ("uk", "uk"),
    ("UK", "uk"),
    ("uk-UA", "uk"),
    ("uk-ua,uk;q=0.9,en;q=0.8", "uk"),
    ("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7", "de"),
    ("fr-FR,fr;q=0.9", "en"),  // nothing offered: the default
    ("fr, uk;q=0.5", "uk"),  // the best one we have
    ("en;q=0.5, uk;q=0.8", "uk"),  // weights, not order
    ("en;q=0.8, uk;q=0.8", "en"),  // equal weights: the header's order
    ("uk;q=0.8, en;q=0.8", "uk"),
    ("en-US, uk;q=0.95, en;q=0.9", "en"),  // en-US at 1 is served by en
    ("zh-Hant-TW, de;q=0.1", "de"),
    ("*", "en"),  // anything: our default
    ("*;q=0.5, uk", "uk"),
    ("fr, *;q=0.1", "en"),
    ("en;q=0, *", "uk"),  // anything but English: the next offered language
    ("en;q=0, de;q=0, uk;q=0, *", "en"),  // everything refused: the default after all
    ("uk;q=0", "en"),
    ("uk;q=0, uk-UA", "en"),  // an exact refusal wins over a region
    ("uk-UA;q=0, uk;q=0.5", "uk"),  // refusing one region is not refusing the language
    ("de;q=0.000, uk;q=0.001", "uk"),
    ("uk;q=1.000", "uk"),
    ("uk;q=1.5, de", "de"),  // an invalid weight drops that range
    ("uk;q=abc, de;q=0.2", "de"),
    ("uk;q=0.1234, de;q=0.2", "de"),
    ("uk;Q=0.9, de;q=0.8", "uk"),
    ("  uk ; q=0.9 ,de;q=0.8", "uk"),
    ("<script>, de", "de"),  // not a language range
    ("u_k, uk-!, de", "de"),
    (",,,;;;,uk", "uk"),
    ("x-klingon, i-default, uk", "uk"),
]

@Suite("Language negotiation")
struct LanguageNegotiationTests {
    let negotiation = LanguageNegotiation(offered: ["en", "uk", "de"], defaultLanguage: "en")

    @Test(arguments: acceptLanguageTable)
    func acceptLanguage(_ row: (header: String?, expected: String)) {
        #expect(negotiation.choose(lang: nil, acceptLanguage: row.header) == row.expected, "\(row.header ?? "nil")")
    }

    @Test func langParameterWinsWhenOffered() {
        #expect(negotiation.choose(lang: "de", acceptLanguage: "uk") == "de")
        #expect(negotiation.choose(lang: "DE", acceptLanguage: "uk") == "de")
        #expect(negotiation.choose(lang: "de-AT", acceptLanguage: "uk") == "de")
    }

    @Test(arguments: ["fr", "", "<script>", "en\"", "../uk", "x"])
    func unofferedLangParameterFallsBackToTheHeader(_ lang: String) {
        #expect(negotiation.choose(lang: lang, acceptLanguage: "uk") == "uk")
        #expect(negotiation.choose(lang: lang, acceptLanguage: nil) == "en")
    }

    @Test func theConfiguredDefaultIsTheFallback() {
        let ukFirst = LanguageNegotiation(offered: ["en", "uk"], defaultLanguage: "uk")
        #expect(ukFirst.choose(lang: nil, acceptLanguage: "fr") == "uk")
        #expect(ukFirst.choose(lang: nil, acceptLanguage: "*") == "uk")
        #expect(ukFirst.choose(lang: nil, acceptLanguage: "uk;q=0, *") == "en")
    }

    @Test func onlyOfferedLanguagesComeOut() {
        let hostile = [
            "*", "x" + String(repeating: "-abcdefgh", count: 1000), String(repeating: "fr,", count: 10_000) + "uk",
        ]
        for header in hostile {
            #expect(negotiation.offered.contains(negotiation.choose(lang: header, acceptLanguage: header)))
        }
    }

    @Test func rangesBeyondTheLimitAreIgnored() {
        let header = String(repeating: "fr,", count: LanguageNegotiation.maxRanges) + "uk"
        #expect(negotiation.choose(lang: nil, acceptLanguage: header) == "en")
    }

    @Test(arguments: [
        ("0", 0), ("1", 1000), ("0.5", 500), ("0.05", 50), ("0.123", 123), ("1.0", 1000), ("1.000", 1000),
        ("0.", 0), ("1.", 1000),
    ])
    func qvalues(_ text: String, _ weight: Int) {
        #expect(LanguageNegotiation.qvalue(text) == weight)
    }

    @Test(arguments: ["", "2", "1.001", "0.1234", "-0.5", ".5", "0,5", "abc", "0.5x"])
    func malformedQvalues(_ text: String) {
        #expect(LanguageNegotiation.qvalue(text) == nil)
    }

    /// A comma that a combining mark follows still separates ranges (found by fuzzing).
    @Test func aMarkAfterACommaDoesNotSwallowTheNextRange() {
        #expect(negotiation.choose(lang: nil, acceptLanguage: "uk,\u{301}x") == "uk")
        #expect(negotiation.choose(lang: nil, acceptLanguage: "\u{301}x,de") == "de")
    }
}
