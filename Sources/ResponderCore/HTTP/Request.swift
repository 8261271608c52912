/// One request as the web server handed it over: FastCGI (or CGI) params and the body.
///
/// Params are looked up on demand rather than copied, because a request carries a few dozen
/// params and a handler reads five or six of them.
public struct Request {
    /// Returns the raw bytes of a param, or nil when the web server did not set it.
    public let param: (String) -> [UInt8]?
    /// Returns a param as text (invalid UTF-8 repaired), or nil; the transport may supply a
    /// faster lookup than decoding `param`'s bytes.
    private let text: (String) -> String?
    /// How many times the web server sent a param; libfcgi keeps every occurrence, and `param`
    /// returns the first (PHP-FPM returns the last), so a repeated identity param is ambiguous.
    public let occurrences: (String) -> Int
    /// The request body, read to its end by the transport and capped at `Request.maxBodyBytes`.
    public let body: [UInt8]
    /// The HTTP method, as the web server sent it (`GET` when it sent none).
    public let method: String

    /// The largest body kept; the rest is read and discarded so that keep-conn stays in step.
    public static let maxBodyBytes = 64 * 1024

    /// Creates a request from a param lookup and a body; `text` looks params up as strings
    /// (by default, by decoding `param`'s bytes).
    public init(
        param: @escaping (String) -> [UInt8]?, text: ((String) -> String?)? = nil,
        occurrences: ((String) -> Int)? = nil, body: [UInt8] = []
    ) {
        self.param = param
        self.text = text ?? { name in param(name).map { String(decoding: $0, as: UTF8.self) } }
        self.occurrences = occurrences ?? { name in param(name) == nil ? 0 : 1 }
        self.body = body
        method = self.text("REQUEST_METHOD") ?? "GET"
    }

    /// Creates a request from a fixed set of params (tests, tools).
    public init(params: [String: String], body: [UInt8] = []) {
        self.init(param: { name in params[name].map { Array($0.utf8) } }, body: body)
    }

    /// Creates a request from params in the order a web server sent them, repeats included;
    /// like libfcgi, `param` answers the first occurrence. Names compare by bytes.
    public init(orderedParams: [(name: String, value: String)], body: [UInt8] = []) {
        self.init(
            param: { name in orderedParams.first { $0.name.utf8.elementsEqual(name.utf8) }.map { Array($0.value.utf8) } },
            occurrences: { name in orderedParams.count { $0.name.utf8.elementsEqual(name.utf8) } }, body: body)
    }

    /// A param as text, with invalid UTF-8 repaired; nil when absent.
    public func string(_ name: String) -> String? {
        text(name)
    }

    /// A request header as the web server passed it (`User-Agent` → `HTTP_USER_AGENT`).
    public func header(_ name: String) -> String? {
        let bytes = name.utf8.map { byte -> UInt8 in
            switch byte {
            case UInt8(ascii: "-"): UInt8(ascii: "_")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - 32
            default: byte
            }
        }
        return string("HTTP_" + String(decoding: bytes, as: UTF8.self))
    }
}
