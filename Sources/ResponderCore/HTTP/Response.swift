/// What a handler answers: a status, headers and a body, written out by the transport.
public struct Response: Sendable, Equatable {
    /// The HTTP status code.
    public var status: Int
    /// Header fields in the order they are sent.
    public var headers: [Header]
    /// The body bytes. Handlers answer HEAD like GET; the transport leaves the body off the wire.
    public var body: [UInt8]

    /// One header field.
    public struct Header: Sendable, Equatable {
        /// The field name, e.g. `Content-Type`.
        public var name: String
        /// The field value.
        public var value: String

        /// Creates a header field.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Creates a response.
    public init(status: Int, headers: [Header] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header with this name (case-insensitive), if any.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// Headers that every JSON answer of the API carries: never cached, never sniffed.
    public static let jsonHeaders: [Header] = [
        Header("Content-Type", "application/json"),
        Header("Cache-Control", "no-store, private"),
        Header("X-Content-Type-Options", "nosniff"),
    ]

    /// A JSON answer with the API's no-store headers.
    public static func json(status: Int = 200, _ body: [UInt8]) -> Response {
        Response(status: status, headers: jsonHeaders, body: body)
    }

    /// A plain-text answer.
    public static func text(status: Int = 200, _ text: String) -> Response {
        Response(
            status: status,
            headers: [Header("Content-Type", "text/plain; charset=utf-8"), Header("Cache-Control", "no-store")],
            body: Array(text.utf8))
    }
}
