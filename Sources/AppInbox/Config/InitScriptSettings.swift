/// What the `init.js` route serves: languages, the eSputnik loader and the init flags.
/// Defaults as README.md "Configuration" lists them; each field maps to one `APP_INBOX_*` variable.
public struct InitScriptSettings: Sendable, Equatable {
    /// ISO 639-1 codes the script is rendered in, in the order given (`APP_INBOX_LANGUAGES`).
    public var languages = ["en"]
    /// Used when neither `lang` nor `Accept-Language` picks a language; nil means the first of
    /// `languages` (`APP_INBOX_DEFAULT_LANGUAGE`).
    public var defaultLanguage: String?
    /// Whether the script starts with eSputnik's loader; false (`APP_INBOX_LOADER=omit`) for
    /// sites that already load the eSputnik script for tracking or recommendations.
    public var includesLoader = true
    /// Where the loader fetches `<base><site id>.js` from (`APP_INBOX_SCRIPT_BASE_URL`).
    public var scriptBaseURL = "https://statics.esputnik.com/scripts/"
    /// The site's id at eSputnik, `[A-Za-z0-9_-]+` (`APP_INBOX_SITE_ID`); required by the loader.
    public var siteID: String?
    /// Extra flags merged into the init call after `APP_INBOX: true` (`APP_INBOX_INIT_FLAGS`).
    public var initFlags: [InitFlag] = []
    /// `Cache-Control: public, max-age=N` of the script (`APP_INBOX_SCRIPT_MAX_AGE_S`).
    public var maxAgeSeconds = 300

    /// Creates the default settings.
    public init() {}

    /// The language used when the request picks none of ours.
    public var effectiveDefaultLanguage: String { defaultLanguage ?? languages.first ?? "en" }

    /// Why `init.js` cannot be served with these settings, or nil when it can. Not a startup
    /// error: a deployment that only uses the token route never needs a site id.
    public var unavailableReason: String? {
        guard includesLoader, siteID == nil else { return nil }
        return "APP_INBOX_SITE_ID is not set: the eSputnik loader needs the site id "
            + "(or set APP_INBOX_LOADER=omit when the site loads the eSputnik script itself)"
    }
}
