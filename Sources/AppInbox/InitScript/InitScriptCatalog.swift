/// The init script in every configured language, rendered once at startup, and the `init.js`
/// route's answers: language negotiation, ETag and `If-None-Match`, caching headers.
public struct InitScriptCatalog: Sendable {
    /// The rendered scripts by language code.
    public let scripts: [String: InitScript]
    /// How a request's language is chosen.
    public let negotiation: LanguageNegotiation
    /// `Cache-Control: public, max-age=` this.
    public let maxAgeSeconds: Int

    /// Renders every language; nil when the settings cannot make a script (no site id for the
    /// loader: see `InitScriptSettings.unavailableReason`).
    public init?(settings: InitScriptSettings, basePath: String) {
        guard settings.unavailableReason == nil else { return nil }
        var scripts: [String: InitScript] = [:]
        for language in settings.languages {
            scripts[language] = InitScript(settings: settings, basePath: basePath, language: language)
        }
        self.scripts = scripts
        negotiation = LanguageNegotiation(
            offered: settings.languages, defaultLanguage: settings.effectiveDefaultLanguage)
        maxAgeSeconds = settings.maxAgeSeconds
    }

    /// The answer to `GET`/`HEAD init.js`: 200 with the script, or 304 when `If-None-Match`
    /// matches. (The transport drops the body of a HEAD answer and keeps its `Content-Length`.)
    public func response(to request: Request) -> Response {
        let language = negotiation.choose(
            lang: RequestTarget.query(of: request)["lang"], acceptLanguage: request.header("Accept-Language"))
        return response(for: language, ifNoneMatch: request.header("If-None-Match"))
    }

    /// The answer for a negotiated language.
    public func response(for language: String, ifNoneMatch: String?) -> Response {
        guard let script = scripts[language] ?? scripts[negotiation.defaultLanguage] else {
            return APIError.notFound.response
        }
        // A 304 carries the headers a 200 would have for caching: ETag, Cache-Control, Vary.
        var headers: [Response.Header] = [
            .init("Cache-Control", "public, max-age=\(maxAgeSeconds)"),
            .init("Vary", "Accept-Language"),
        ]
        if let etag = script.etag { headers.insert(.init("ETag", etag), at: 0) }
        if let ifNoneMatch, let etag = script.etag, EntityTag.ifNoneMatch(ifNoneMatch, matches: etag) {
            // RFC 9110 §8.6: a 304's Content-Length, if any, must be the 200's, not 0; given here,
            // the transport adds none of its own.
            headers.append(.init("Content-Length", String(script.body.count)))
            return Response(status: 304, headers: headers)
        }
        headers.insert(.init("Content-Type", "application/javascript; charset=utf-8"), at: 0)
        headers.append(.init("Content-Language", script.language))
        headers.append(.init("X-Content-Type-Options", "nosniff"))
        return Response(status: 200, headers: headers, body: script.body)
    }
}
