/// Picks the init script's language: the `lang` query parameter when we offer it, else the best
/// match of `Accept-Language` (RFC 9110 §12.5.4, matched as RFC 4647 "lookup"), else the default.
/// Only offered languages ever come out, so nothing the client sent is echoed.
public struct LanguageNegotiation: Sendable, Equatable {
    /// The offered ISO 639-1 codes, lower case, in the configured order.
    public let offered: [String]
    /// The answer when nothing else matches; one of `offered`.
    public let defaultLanguage: String

    /// Most `Accept-Language` ranges looked at; browsers send a handful, so more is noise or abuse.
    static let maxRanges = 64

    /// Creates a negotiation over `offered`, falling back to `defaultLanguage`.
    public init(offered: [String], defaultLanguage: String) {
        self.offered = offered
        self.defaultLanguage = defaultLanguage
    }

    /// The language for a request's `lang` parameter and `Accept-Language` header.
    public func choose(lang: String?, acceptLanguage: String?) -> String {
        if let lang, let language = offeredLanguage(for: lang.lowercased()) {
            return language
        }
        guard let acceptLanguage else { return defaultLanguage }
        let ranges = Self.ranges(acceptLanguage)
        // q=0 says "not this one"; only an exact range excludes a language (`uk-UA;q=0` leaves `uk`).
        let excluded = Set(ranges.filter { $0.weight == 0 }.map(\.tag))
        // Highest weight first; equal weights keep the header's order (a stable sort).
        let preferred = ranges.filter { $0.weight > 0 }.enumerated()
            .sorted {
                $0.element.weight != $1.element.weight ? $0.element.weight > $1.element.weight : $0.offset < $1.offset
            }
            .map(\.element)
        for range in preferred {
            if range.tag == "*" {
                // Any language will do: ours by preference, unless the client refused it.
                return ([defaultLanguage] + offered).first { !excluded.contains($0) } ?? defaultLanguage
            }
            if let language = offeredLanguage(for: range.tag), !excluded.contains(language) {
                return language
            }
        }
        return defaultLanguage
    }

    /// `uk` or `uk-UA` → `uk` when offered; the region and script subtags do not matter to us.
    private func offeredLanguage(for tag: String) -> String? {
        if offered.contains(tag) { return tag }
        guard let dash = tag.firstIndex(of: "-") else { return nil }
        let primary = String(tag[..<dash])
        return offered.contains(primary) ? primary : nil
    }

    /// One language range of `Accept-Language`: the tag in lower case and its weight in thousandths.
    struct Range: Equatable {
        var tag: String
        var weight: Int
    }

    /// Parses `uk-UA,uk;q=0.9,*;q=0.1`; malformed ranges and weights are skipped. Split by
    /// byte: a `,` that a combining mark follows is not a `,` Character, and would swallow the
    /// next range.
    static func ranges(_ header: String) -> [Range] {
        var ranges: [Range] = []
        for item in header.utf8.split(separator: UInt8(ascii: ",")).prefix(maxRanges) {
            var parts = item.split(separator: UInt8(ascii: ";")).map { ASCII.trimmed(String(Substring($0))) }
            guard !parts.isEmpty else { continue }
            let tag = parts.removeFirst().lowercased()
            guard isRange(tag) else { continue }
            var weight: Int? = 1000
            for parameter in parts {
                let pair = parameter.utf8.split(separator: UInt8(ascii: "="), maxSplits: 1).map {
                    ASCII.trimmed(String(Substring($0)))
                }
                if pair.count == 2, pair[0].lowercased() == "q" { weight = qvalue(pair[1]) }
            }
            if let weight { ranges.append(Range(tag: tag, weight: weight)) }
        }
        return ranges
    }

    /// `*`, or subtags of 1 to 8 letters or digits joined by `-` (RFC 4647 §2.1).
    private static func isRange(_ tag: String) -> Bool {
        if tag == "*" { return true }
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false)
        return subtags.allSatisfy { subtag in
            (1...8).contains(subtag.utf8.count)
                && subtag.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
        }
    }

    /// RFC 9110's qvalue, `0`–`1` with at most three decimals, in thousandths; nil when malformed.
    static func qvalue(_ text: String) -> Int? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, whole == "0" || whole == "1" else { return nil }
        var decimals = parts.count > 1 ? parts[1] : ""
        guard decimals.count <= 3, decimals.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        while decimals.count < 3 { decimals += "0" }
        guard let fraction = Int(decimals) else { return nil }
        let weight = (whole == "1" ? 1000 : 0) + fraction
        return weight <= 1000 ? weight : nil
    }
}
