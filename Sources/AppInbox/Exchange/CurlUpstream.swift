import CCurl

/// One worker's curl easy handle, reused for every request so that the connection to eSputnik
/// stays open (keep-alive) and TLS is negotiated once per worker, not once per request.
/// Not thread-safe: each worker thread owns one.
public final class CurlUpstream: UpstreamTransport {
    private let handle: UnsafeMutableRawPointer
    private let headers: UnsafeMutablePointer<curl_slist>
    private let sink = ResponseSink()

    /// Configures a handle for eSputnik's token endpoint.
    public init(settings: UpstreamSettings, share: CurlShare) throws(SetupError) {
        guard let handle = curl_easy_init() else {
            throw SetupError(function: "curl_easy_init", detail: "failed")
        }
        self.handle = handle
        var list: UnsafeMutablePointer<curl_slist>?
        for line in [
            "Content-Type: application/json", "Accept: application/json", settings.authorizationHeader,
            "Expect:",  // no 100-continue round trip for a small body
        ] {
            list = curl_slist_append(list, line)
        }
        guard let list else {
            curl_easy_cleanup(handle)
            throw SetupError(function: "curl_slist_append", detail: "failed")
        }
        headers = list

        var failures: [String] = []
        func check(_ code: CURLcode, _ option: String) {
            if code != CURLE_OK { failures.append("\(option): \(String(cString: curl_easy_strerror(code)))") }
        }
        check(ccurl_setopt_string(handle, CURLOPT_URL, settings.url), "CURLOPT_URL")
        check(ccurl_setopt_long(handle, CURLOPT_POST, 1), "CURLOPT_POST")
        check(ccurl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers), "CURLOPT_HTTPHEADER")
        check(ccurl_setopt_string(handle, CURLOPT_USERAGENT, "app-inbox-fcgi/\(Config.version)"), "CURLOPT_USERAGENT")
        // Signals would interrupt other threads' syscalls; the threaded resolver needs none.
        check(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "CURLOPT_NOSIGNAL")
        check(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeoutMs), "CURLOPT_CONNECTTIMEOUT_MS")
        check(ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1), "CURLOPT_SSL_VERIFYPEER")
        check(ccurl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2), "CURLOPT_SSL_VERIFYHOST")
        check(ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "https"), "CURLOPT_PROTOCOLS_STR")
        check(ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0), "CURLOPT_FOLLOWLOCATION")
        check(ccurl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1), "CURLOPT_TCP_KEEPALIVE")
        check(ccurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1), "CURLOPT_TCP_NODELAY")
        if let caFile = settings.caFile {
            check(ccurl_setopt_string(handle, CURLOPT_CAINFO, caFile), "CURLOPT_CAINFO")
        }
        check(ccurl_setopt_share(handle, UnsafeMutableRawPointer(share.handle)), "CURLOPT_SHARE")
        check(
            ccurl_setopt_write_callback(handle) { data, size, count, context in
                let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
                // Returning less than offered makes curl fail the transfer with CURLE_WRITE_ERROR.
                return sink.append(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
            }, "CURLOPT_WRITEFUNCTION")
        check(ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()), "CURLOPT_WRITEDATA")
        if !failures.isEmpty {
            // Every stored property is set by now, so throwing runs deinit, which frees the
            // handle and the list: freeing them here as well was a double free.
            throw SetupError(function: "curl_easy_setopt", detail: failures.joined(separator: "; "))
        }
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headers)
    }

    /// POSTs `body` with at most `timeoutMs` for the whole attempt.
    public func post(_ body: [UInt8], timeoutMs: Int) -> UpstreamAttempt {
        sink.reset()
        // Each option is checked: a body that failed to copy would leave the previous request's
        // body on this reused handle, and send another user's identity to eSputnik.
        var code = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMs)
        if code == CURLE_OK { code = ccurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count) }
        if code == CURLE_OK {
            code = body.withUnsafeBufferPointer { buffer in
                // COPYPOSTFIELDS copies, so the Swift buffer need not outlive this call.
                ccurl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            }
        }
        guard code == CURLE_OK else { return .failed("curl_easy_setopt: " + String(cString: curl_easy_strerror(code))) }
        code = curl_easy_perform(handle)
        switch code {
        case CURLE_OK:
            var status = 0
            guard ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK else {
                return .failed("curl_easy_getinfo: no response code")
            }
            var retryAfter: curl_off_t = 0
            if ccurl_getinfo_off_t(handle, CURLINFO_RETRY_AFTER, &retryAfter) != CURLE_OK { retryAfter = 0 }
            return .answered(status: status, body: sink.bytes, retryAfter: UpstreamAttempt.clampedRetryAfter(retryAfter))
        case CURLE_WRITE_ERROR where sink.overflowed:
            return .bodyTooLarge
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
            CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return .connectionFailed(String(cString: curl_easy_strerror(code)))
        default:
            return .failed(String(cString: curl_easy_strerror(code)))
        }
    }
}

/// Collects one answer's body, refusing more than `UpstreamAttempt.maxBodyBytes`.
final class ResponseSink {
    private(set) var bytes: [UInt8] = []
    private(set) var overflowed = false

    func reset() {
        bytes.removeAll(keepingCapacity: true)
        overflowed = false
    }

    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + chunk.count <= UpstreamAttempt.maxBodyBytes else {
            overflowed = true
            return false
        }
        bytes.append(contentsOf: chunk)
        return true
    }
}
