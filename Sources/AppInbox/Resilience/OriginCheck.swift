/// Refuses token requests that a browser marks as coming from another site, so a page elsewhere
/// cannot use the visitor's session cookie to fetch their token. No CORS header is ever sent,
/// so even a request that slips through cannot be read by another origin.
public enum OriginCheck {
    /// The 403 answer when `Sec-Fetch-Site` says cross-site or `Origin` is not allowed.
    public static func refusal(for request: Request, allowedOrigins: [String]) -> APIError? {
        if request.string("HTTP_SEC_FETCH_SITE") == "cross-site" {
            return .crossSite("The request came from another site.")
        }
        guard !allowedOrigins.isEmpty, let origin = request.string("HTTP_ORIGIN") else { return nil }
        guard let normalized = normalize(origin), allowedOrigins.contains(normalized) else {
            return .crossSite("The request's origin is not allowed.")
        }
        return nil
    }

    /// `HTTPS://Shop.Example:443/` → `https://shop.example:443`; nil when not an http(s) origin.
    public static func normalize(_ origin: String) -> String? {
        var text = Substring(origin.lowercased())
        while text.hasSuffix("/") { text = text.dropLast() }
        guard text.hasPrefix("https://") || text.hasPrefix("http://") else { return nil }
        let host = text.drop(while: { $0 != "/" }).dropFirst(2)
        guard !host.isEmpty, !host.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" || $0 == "@" || $0 == " " })
        else { return nil }
        // Browsers leave the scheme's default port out of Origin; so must the allow-list.
        for defaultPort in ["https://": ":443", "http://": ":80"] where text.hasPrefix(defaultPort.key) {
            if text.hasSuffix(defaultPort.value) { text = text.dropLast(defaultPort.value.count) }
        }
        return String(text)
    }
}
