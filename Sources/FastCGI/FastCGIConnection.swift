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

    /// The accepted request as a plain `Request`, its body read. The param strings live until
    /// `FCGX_Finish_r`; the lookup copies each value it returns.
    static func read(_ request: UnsafeMutablePointer<FCGX_Request>) -> Request {
        let body = readBody(&request.pointee)
        let envp = request.pointee.envp
        let lookup: (String) -> [UInt8]? = { name in
            guard let value = FCGX_GetParam(name, envp) else { return nil }
            return Array(UnsafeRawBufferPointer(start: value, count: strlen(value)))
        }
        let text: (String) -> String? = { name in FCGX_GetParam(name, envp).map { String(cString: $0) } }
        return Request(param: lookup, text: text, occurrences: { count(of: $0, in: envp) }, body: body)
    }

    /// What became of the connection after an answer.
    enum AfterAnswer {
        /// The web server keeps it for its next request.
        case kept
        /// The web server did not ask to keep it: the caller closes it.
        case done
        /// A stream failed and libfcgi closed it already.
        case gone
    }

    /// Writes the answer and finishes the request. Logs a client that went away.
    static func answer(
        _ request: UnsafeMutablePointer<FCGX_Request>, with response: Response, method: String, log: Log
    ) -> AfterAnswer {
        // One write: the head and body go out in as few FastCGI records as the buffer allows.
        let written = write(ResponseEncoding.wire(response, method: method), to: request.pointee.out)
        if !written || FCGX_FFlush(request.pointee.out) != 0 {
            log.info("client_gone", ["detail": "the web server closed the connection before the answer was sent"])
        }
        // libfcgi closes a connection the web server did not keep with OS_Close, which waits up
        // to 2 s for the peer's EOF (docs/PITFALLS.md #24): too long for the thread that answers,
        // the curl event loop among them. So libfcgi keeps every connection, and the caller
        // closes the ones the web server is done with.
        let wanted = request.pointee.keepConnection != 0
        request.pointee.keepConnection = 1
        FCGX_Finish_r(request)
        guard request.pointee.ipcFd >= 0 else { return .gone }
        request.pointee.ipcFd = -1
        return wanted ? .kept : .done
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
