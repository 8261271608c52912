/// Where the request path and query come from, so that the same config works under nginx,
/// Apache mod_proxy_fcgi and mod_fcgid, which fill different params.
public enum RequestTarget {
    /// The path without the query: `REQUEST_URI`, else `DOCUMENT_URI`, else `SCRIPT_NAME` + `PATH_INFO`.
    public static func path(of request: Request) -> Substring {
        if let uri = request.string("REQUEST_URI"), !uri.isEmpty {
            // By UTF-8 byte, not by Character: grapheme breaking costs more than the whole lookup.
            return uri[..<(uri.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? uri.endIndex)]
        }
        if let documentURI = request.string("DOCUMENT_URI"), !documentURI.isEmpty {
            return Substring(documentURI)
        }
        return Substring((request.string("SCRIPT_NAME") ?? "") + (request.string("PATH_INFO") ?? ""))
    }

    /// The query string: `QUERY_STRING`, else what follows `?` in `REQUEST_URI`.
    public static func query(of request: Request) -> Query {
        if let query = request.string("QUERY_STRING") { return Query(query) }
        // By byte: as a Character, `?` followed by a combining mark is not `?` at all.
        if let uri = request.string("REQUEST_URI"), let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            return Query(String(uri[uri.utf8.index(after: mark)...]))
        }
        return Query("")
    }
}
