import CCurl

/// One curl easy handle configured for eSputnik's token endpoint. It carries one transfer at a
/// time through `CurlMulti`; between transfers it waits in its transport's pool. Connections
/// belong to the multi handle, so any easy handle reuses any open connection.
final class CurlEasy: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let sink = ResponseSink()

    /// Configures a handle; `headers` must outlive it (its transport keeps them).
    init(settings: UpstreamSettings, headers: UnsafeMutablePointer<curl_slist>, share: CurlShare) throws(SetupError) {
        guard let handle = curl_easy_init() else {
            throw SetupError(function: "curl_easy_init", detail: "failed")
        }
        self.handle = handle
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
        // The smallest upload buffer libcurl allows: its default, 64 KiB, is allocated for every
        // transfer in flight, and our bodies are a few hundred bytes.
        check(ccurl_setopt_long(handle, CURLOPT_UPLOAD_BUFFERSIZE, 16_384), "CURLOPT_UPLOAD_BUFFERSIZE")
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
            // handle: freeing it here as well was a double free (docs/PITFALLS.md #9).
            throw SetupError(function: "curl_easy_setopt", detail: failures.joined(separator: "; "))
        }
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// Sets up the next transfer: `body`, at most `timeoutMs` for the whole attempt. Each option
    /// is checked: a body that failed to copy would leave the previous request's body on this
    /// reused handle, and send another user's identity to eSputnik.
    func prepare(_ body: [UInt8], timeoutMs: Int) -> CURLcode {
        sink.reset()
        var code = ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMs)
        if code == CURLE_OK { code = ccurl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count) }
        if code == CURLE_OK {
            code = body.withUnsafeBufferPointer { buffer in
                // COPYPOSTFIELDS copies, so the Swift buffer need not outlive this call.
                ccurl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            }
        }
        return code
    }

    /// What a finished transfer came to.
    func attempt(after code: CURLcode) -> UpstreamAttempt {
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
