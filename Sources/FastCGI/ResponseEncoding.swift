import ResponderCore

/// Serializes a response the way CGI and FastCGI responders send it: a `Status:` header,
/// the other headers, a blank line, then the body.
enum ResponseEncoding {
    /// The bytes for the web server: the head, then the body unless the method is HEAD (whose
    /// answer carries the GET answer's headers, Content-Length included, and no body: RFC 9110
    /// section 9.3.2). The one place this rule lives, for CGI and FastCGI alike.
    static func wire(_ response: Response, method: String) -> [UInt8] {
        var bytes = head(of: response)
        if method != "HEAD" { bytes.append(contentsOf: response.body) }
        return bytes
    }

    static func head(of response: Response) -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(256 + response.body.count)
        head.append(contentsOf: "Status: ".utf8)
        appendDecimal(response.status, to: &head)
        head.append(UInt8(ascii: " "))
        head.append(contentsOf: HTTPStatus.reason(response.status).utf8)
        head.append(contentsOf: "\r\n".utf8)
        var hasLength = false
        for header in response.headers {
            head.append(contentsOf: header.name.utf8)
            head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: header.value.utf8)
            head.append(contentsOf: "\r\n".utf8)
            hasLength = hasLength || isContentLength(header.name)
        }
        if !hasLength {
            head.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(response.body.count, to: &head)
            head.append(contentsOf: "\r\n".utf8)
        }
        head.append(contentsOf: "\r\n".utf8)
        return head
    }

    /// Case-insensitive `Content-Length`, without allocating a lowercased copy per header.
    private static func isContentLength(_ name: String) -> Bool {
        let expected = "content-length".utf8
        return name.utf8.count == expected.count
            && zip(name.utf8, expected).allSatisfy { $0 | 0x20 == $1 || ($0 == $1) }
    }

    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &bytes) }
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}
