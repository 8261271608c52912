import Testing

@testable import AppInbox

/// Values that try to end a JavaScript string literal, a comment or the `<script>` element.
private let hostileStrings: [String] = [
    #"""#, #"\"#, #"\""#, "'", "`${alert(1)}`", "</script><script>alert(1)</script>", "</SCRIPT >", "<!--", "-->",
    "<![CDATA[", "]]>", "*/ alert(1) /*", "line\nbreak", "carriage\rreturn", "sep\u{2028}arator", "para\u{2029}graph",
    "nul\u{0}", "\u{1B}[31m", "😀 Київ", #"\u0022"#, "&lt;/script&gt;",
]

/// Whether `text` is exactly one double-quoted JavaScript string literal: no unescaped quote and
/// no raw line terminator before its closing quote.
private func isSingleLiteral(_ text: String) -> Bool {
    var scalars = Array(text.unicodeScalars)[...]
    guard scalars.count >= 2, scalars.removeFirst() == "\"", scalars.removeLast() == "\"" else { return false }
    var escaped = false
    for scalar in scalars {
        if escaped {
            escaped = false
        } else if scalar == "\\" {
            escaped = true
        } else if scalar == "\"" || ["\n", "\r", "\u{2028}", "\u{2029}"].contains(scalar) {
            return false
        }
    }
    return !escaped
}

private func containsIgnoringCase(_ body: [UInt8], _ needle: String) -> Bool {
    String(decoding: body, as: UTF8.self).lowercased().contains(needle.lowercased())
}

private func hostileSettings(_ value: String) -> InitScriptSettings {
    var settings = InitScriptSettings()
    settings.languages = ["en"]
    // Past the config checks on purpose: the encoding alone must hold.
    settings.siteID = value
    settings.scriptBaseURL = value
    settings.initFlags = [InitFlag("X", .string(value))]
    return settings
}

@Suite("InitScript")
struct InitScriptTests {
    @Test(arguments: hostileStrings)
    func literalsCannotBeEnded(_ value: String) throws {
        let literal = JSONString.encode(value)
        #expect(isSingleLiteral(literal), "\(literal)")
        #expect(!literal.contains("<") && !literal.contains(">") && !literal.contains("&"))
        #expect(JSONValue.parse(Array(literal.utf8)) == .string(value))
    }

    @Test(arguments: hostileStrings)
    func hostileValuesCannotEndTheScriptElement(_ value: String) throws {
        let script = InitScript(settings: hostileSettings(value), basePath: "/app-inbox" + value, language: "en")
        for needle in ["</script", "<!--", "<script", "]]>", "\u{2028}", "\u{2029}"] {
            #expect(
                !containsIgnoringCase(script.body, needle),
                "\(needle) in \(String(decoding: script.body, as: UTF8.self))")
        }
        // The flags object is JSON, so it shows the value came through byte for byte.
        let flags = InitScript.flagsObject(hostileSettings(value).initFlags)
        #expect(JSONValue.parse(Array(flags.utf8)) == .object(["APP_INBOX": .bool(true), "X": .string(value)]))
        #expect(String(decoding: script.body, as: UTF8.self).contains(flags))
    }

    @Test func flagsFollowAppInboxInOrder() {
        let flags: [InitFlag] = [
            .init("RECOMS", .bool(true)), .init("TRACKING", .bool(false)), .init("N", .number(-3)),
        ]
        #expect(InitScript.flagsObject(flags) == #"{"APP_INBOX":true,"RECOMS":true,"TRACKING":false,"N":-3}"#)
        #expect(InitScript.flagsObject([]) == #"{"APP_INBOX":true}"#)
    }

    @Test func theLoaderLoadsBasePlusSiteID() {
        var settings = InitScriptSettings()
        settings.siteID = "abc_DEF-1"
        let source = InitScript.source(settings: settings, basePath: "/app-inbox", language: "en")
        #expect(source.contains(#"script.src = "https://statics.esputnik.com/scripts/" + "abc_DEF-1" + ".js";"#))
        #expect(source.contains("insertBefore(script, first)"))
        #expect(source.contains(#"var url = "/app-inbox/token" + (calls++ === 0 ? "" : "?fresh=1");"#))
        #expect(source.contains(#"credentials: "same-origin""#))
        #expect(source.contains(#"language: "en""#))
        #expect(source.contains("if (w.__appInboxFcgiInit) { return; }"))
    }

    @Test func omittingTheLoaderKeepsOnlyTheQueue() {
        var settings = InitScriptSettings()
        settings.includesLoader = false
        let source = InitScript.source(settings: settings, basePath: "", language: "uk")
        #expect(!source.contains("createElement"))
        #expect(!source.contains("statics.esputnik.com"))
        #expect(source.contains("eS.q = [];"))
        #expect(source.contains(#"var url = "/token""#))
        #expect(source.contains(#"w.eS("init", {"APP_INBOX":true}, {"#))
    }

    @Test func renderingIsDeterministic() {
        var settings = InitScriptSettings()
        settings.siteID = "site"
        let first = InitScript(settings: settings, basePath: "/app-inbox", language: "en")
        let second = InitScript(settings: settings, basePath: "/app-inbox", language: "en")
        #expect(first == second)
        settings.maxAgeSeconds = 1  // a header, not the body: same tag
        #expect(InitScript(settings: settings, basePath: "/app-inbox", language: "en").etag == first.etag)
        settings.initFlags = [.init("RECOMS", .bool(true))]
        #expect(InitScript(settings: settings, basePath: "/app-inbox", language: "en").etag != first.etag)
    }
}
