import AppInbox

/// Serializes a response the way CGI and FastCGI responders send it: a `Status:` header,
/// the other headers, a blank line, then the body.
enum ResponseEncoding {
    static func head(of response: Response) -> [UInt8] {
        var head: [UInt8] = []
        head.reserveCapacity(256)
        head.append(contentsOf: "Status: \(response.status) \(HTTPStatus.reason(response.status))\r\n".utf8)
        var hasLength = false
        for header in response.headers {
            head.append(contentsOf: header.name.utf8)
            head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: header.value.utf8)
            head.append(contentsOf: "\r\n".utf8)
            hasLength = hasLength || header.name.lowercased() == "content-length"
        }
        if !hasLength {
            head.append(contentsOf: "Content-Length: \(response.body.count)\r\n".utf8)
        }
        head.append(contentsOf: "\r\n".utf8)
        return head
    }
}
