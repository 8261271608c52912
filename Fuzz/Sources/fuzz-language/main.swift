import AppInbox
import FuzzSupport

// Accept-Language negotiation for init.js. Input: the Accept-Language header, or the `lang`
// query value, 0xFF, then the header. Each input runs against two sets of offered languages.

let negotiations = [
    LanguageNegotiation(offered: ["en"], defaultLanguage: "en"),
    LanguageNegotiation(offered: ["uk", "en", "de", "pl"], defaultLanguage: "en"),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let parts = fields(inputBytes(data, size))
    let lang = parts.count > 1 ? String(decoding: parts[0], as: UTF8.self) : nil
    let header = String(decoding: parts.count > 1 ? parts[1] : parts[0], as: UTF8.self)

    for negotiation in negotiations {
        let chosen = negotiation.choose(lang: lang, acceptLanguage: header)
        // Only offered languages come out: nothing the client sent is echoed.
        check(negotiation.offered.contains(chosen), "chose \(escaped(chosen.utf8))")
        if let lang, negotiation.offered.contains(lang.lowercased()) {
            check(chosen == lang.lowercased(), "an offered lang parameter was overridden")
        }
        check(negotiation.choose(lang: lang, acceptLanguage: header) == chosen, "not deterministic")

        // Without a usable lang, the header alone decides; without a header, the default does.
        let headerOnly = negotiation.choose(lang: nil, acceptLanguage: header)
        check(negotiation.offered.contains(headerOnly), "chose \(escaped(headerOnly.utf8))")
        check(negotiation.choose(lang: nil, acceptLanguage: nil) == negotiation.defaultLanguage, "no header")
        // An offered language put first wins, unless a later `;q=0` refuses it.
        let refuses = header.utf8.contains { $0 == UInt8(ascii: "q") || $0 == UInt8(ascii: "Q") }
        if !refuses {
            for language in negotiation.offered {
                let first = negotiation.choose(lang: nil, acceptLanguage: language + "," + header)
                check(first == language, "\(language) first gave \(first)")
            }
        }
    }
    return 0
}
