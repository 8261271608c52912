extension InitScriptSettings {
    /// Reads the init script's variables, one problem per bad variable.
    init(_ reader: inout EnvironmentReader) {
        var settings = InitScriptSettings()
        if let list = reader.string("APP_INBOX_LANGUAGES") {
            var languages: [String] = []
            for item in list.split(separator: ",").map({ ASCII.trimmed(String($0)) }) where !item.isEmpty {
                let code = item.lowercased()
                guard Self.isLanguageCode(code) else {
                    reader.problem(
                        .init(
                            "APP_INBOX_LANGUAGES",
                            "'\(item)' is not a two-letter ISO 639-1 code such as en or uk "
                                + "(regions need no entry: Accept-Language uk-UA matches uk)"))
                    continue
                }
                if !languages.contains(code) { languages.append(code) }
            }
            if languages.isEmpty, !reader.hasProblem("APP_INBOX_LANGUAGES") {
                reader.problem(.init("APP_INBOX_LANGUAGES", "must list at least one language, e.g. en,uk"))
            }
            if !languages.isEmpty { settings.languages = languages }
        }
        if let language = reader.string("APP_INBOX_DEFAULT_LANGUAGE").map({ ASCII.trimmed($0).lowercased() }) {
            if settings.languages.contains(language) {
                settings.defaultLanguage = language
            } else {
                reader.problem(
                    .init(
                        "APP_INBOX_DEFAULT_LANGUAGE",
                        "'\(language)' is not one of APP_INBOX_LANGUAGES (\(settings.languages.joined(separator: ",")))"
                    ))
            }
        }
        switch reader.string("APP_INBOX_LOADER") {
        case nil, "include": settings.includesLoader = true
        case "omit": settings.includesLoader = false
        default: reader.problem(.init("APP_INBOX_LOADER", "must be include or omit"))
        }
        if let base = reader.string("APP_INBOX_SCRIPT_BASE_URL") {
            if Self.isScriptBaseURL(base) {
                settings.scriptBaseURL = base
            } else {
                reader.problem(
                    .init(
                        "APP_INBOX_SCRIPT_BASE_URL",
                        "must be an https:// or http:// URL or a path starting with /, ending with / "
                            + "(the loader fetches <base><site id>.js), without spaces or quotes"))
            }
        }
        if let siteID = reader.string("APP_INBOX_SITE_ID") {
            if siteID.utf8.count <= 128, siteID.utf8.allSatisfy(Self.isSiteIDByte) {
                settings.siteID = siteID
            } else {
                reader.problem(.init("APP_INBOX_SITE_ID", "must be 1 to 128 letters, digits, _ or -"))
            }
        }
        if let flags = reader.string("APP_INBOX_INIT_FLAGS") {
            switch InitFlag.parseList(flags) {
            case .success(let parsed): settings.initFlags = parsed
            case .failure(let error):
                reader.problem(
                    .init("APP_INBOX_INIT_FLAGS", error.message + " (expected e.g. RECOMS=true,TRACKING=false)"))
            }
        }
        reader.integer("APP_INBOX_SCRIPT_MAX_AGE_S", in: 0...31_536_000, into: &settings.maxAgeSeconds)
        self = settings
    }

    /// This type's rows of `Config.settings`.
    var settings: [Setting] {
        let flags = initFlags.map { flag in
            switch flag.value {
            case .bool(let value): "\(flag.name)=\(value)"
            case .number(let value): "\(flag.name)=\(value)"
            case .string(let value): "\(flag.name)=\(value)"
            }
        }
        let unsetSiteID =
            includesLoader ? "(unset: init.js answers 404 until it is set, or APP_INBOX_LOADER=omit)" : "(unset)"
        return [
            Setting("APP_INBOX_LANGUAGES", languages.joined(separator: ",")),
            Setting("APP_INBOX_DEFAULT_LANGUAGE", effectiveDefaultLanguage),
            Setting("APP_INBOX_LOADER", includesLoader ? "include" : "omit"),
            Setting("APP_INBOX_SCRIPT_BASE_URL", scriptBaseURL),
            Setting("APP_INBOX_SITE_ID", siteID ?? "", shown: siteID ?? unsetSiteID),
            Setting(
                "APP_INBOX_INIT_FLAGS", flags.joined(separator: ","),
                shown: flags.isEmpty ? "(none)" : flags.joined(separator: ",")),
            Setting("APP_INBOX_SCRIPT_MAX_AGE_S", String(maxAgeSeconds)),
        ]
    }

    private static func isLanguageCode(_ code: String) -> Bool {
        code.utf8.count == 2 && code.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }

    private static func isScriptBaseURL(_ base: String) -> Bool {
        guard base.hasSuffix("/") else { return false }
        if let scheme = ["https://", "http://"].first(where: { base.hasPrefix($0) }) {
            guard let host = base.dropFirst(scheme.count).first, host != "/" else { return false }
        } else if !base.hasPrefix("/") {
            return false
        }
        // Never inserted unescaped, but a URL with these is a typo, not a URL.
        let refused: Set<UInt8> = Set(#""'<>\`"#.utf8)
        return !base.utf8.contains { $0 <= 0x20 || $0 == 0x7F || refused.contains($0) }
    }

    private static func isSiteIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}
