import CFastCGI
import Glibc
import ResponderCore

/// Adapts one accepted `FCGX_Request` to the plain `Request` / `Response` values of `ResponderCore`.
enum FastCGIConnection {
    /// Reads the request's input stream to its end, keeping at most `Request.maxBodyBytes`.
    /// Reading to the end matters even for GET: with keep-conn, an unread closing FCGI_STDIN
    /// record would stall the next request on the same connection (docs/PITFALLS.md #15).
    static func readBody(_ request: inout FCGX_Request) -> [UInt8] {
        var collector = BodyCollector()
        // A stack buffer: most requests (GETs) have no body, and a heap chunk per request would
        // cost an allocation on the hot path for nothing.
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 8192) { chunk in
            while true {
                let count = Int(FCGX_GetStr(chunk.baseAddress, Int32(chunk.count), request.in))
                if count <= 0 { return }
                collector.append(UnsafeRawBufferPointer(start: chunk.baseAddress, count: count))
            }
        }
        return collector.body
    }

    /// Runs `responder` on the request and writes its answer; returns false when the web server
    /// had gone away (the client aborted) before the answer was written.
    static func serve(_ request: inout FCGX_Request, with responder: (Request) -> Response) -> Bool {
        let body = readBody(&request)
        let envp = request.envp
        // The param strings live until FCGX_Finish_r; the lookup copies each value it returns.
        let lookup: (String) -> [UInt8]? = { name in
            guard let value = FCGX_GetParam(name, envp) else { return nil }
            return Array(UnsafeRawBufferPointer(start: value, count: strlen(value)))
        }
        let text: (String) -> String? = { name in FCGX_GetParam(name, envp).map { String(cString: $0) } }
        let plain = Request(param: lookup, text: text, occurrences: { count(of: $0, in: envp) }, body: body)
        let response = responder(plain)
        // One write: the head and body go out in as few FastCGI records as the buffer allows.
        return write(ResponseEncoding.wire(response, method: plain.method), to: request.out) && FCGX_FFlush(request.out) == 0
    }

    /// How many `name=value` entries of libfcgi's param array carry `name` (`FCGX_GetParam`
    /// stops at the first).
    static func count(of name: String, in envp: FCGX_ParamArray?) -> Int {
        guard var entry = envp else { return 0 }
        let length = name.utf8.count
        var found = 0
        while let pair = entry.pointee {
            if strncmp(pair, name, length) == 0, pair[length] == CChar(UInt8(ascii: "=")) { found += 1 }
            entry += 1
        }
        return found
    }

    private static func write(_ bytes: [UInt8], to stream: UnsafeMutablePointer<FCGX_Stream>?) -> Bool {
        guard !bytes.isEmpty else { return true }
        return bytes.withUnsafeBytes { buffer in
            FCGX_PutStr(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(buffer.count), stream)
                == Int32(buffer.count)
        }
    }
}
