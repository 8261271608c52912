import CCurl

/// The transport to eSputnik over `CurlMulti`, for one set of upstream settings (a reload makes
/// a new one; transfers under way finish on the old). It keeps configured easy handles for
/// reuse, so a transfer costs setting its body and timeout, not configuring a handle.
public final class CurlMultiTransport: UpstreamTransport, @unchecked Sendable {
    /// The settings its handles were configured with.
    public let settings: UpstreamSettings
    private let headers: UnsafeMutablePointer<curl_slist>
    private let share: CurlShare
    private let multi: CurlMulti
    private let idle = Locked<[CurlEasy]>([])
    /// Idle handles kept for reuse; a burst's extra handles are freed when it ends (each holds
    /// curl's buffers).
    static let keptIdle = 32

    /// Builds the header list and one handle, so that a setting curl refuses fails here, at
    /// start or reload, rather than on the first request.
    public init(settings: UpstreamSettings, share: CurlShare, multi: CurlMulti) throws(SetupError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in [
            "Content-Type: application/json", "Accept: application/json", settings.authorizationHeader,
            "Expect:",  // no 100-continue round trip for a small body
        ] {
            guard let longer = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw SetupError(function: "curl_slist_append", detail: "failed")
            }
            list = longer
        }
        (self.settings, headers, self.share, self.multi) = (settings, list!, share, multi)
        // Every stored property is set: a throw from here on runs deinit, which frees the list.
        let first = try CurlEasy(settings: settings, headers: headers, share: share)
        idle.withLock { $0.append(first) }
    }

    deinit {
        // Handles in flight hold this transport (their continuation does), so none uses the
        // list after this.
        idle.withLock { $0.removeAll() }
        curl_slist_free_all(headers)
    }

    public func post(_ body: [UInt8], timeoutMs: Int, done: @escaping @Sendable (UpstreamAttempt) -> Void) {
        let easy: CurlEasy
        do {
            easy = try idle.withLock { $0.popLast() } ?? CurlEasy(settings: settings, headers: headers, share: share)
        } catch {
            return done(.failed("\(error)"))
        }
        let code = easy.prepare(body, timeoutMs: timeoutMs)
        // A handle whose options did not take is dropped, never reused.
        guard code == CURLE_OK else { return done(.failed("curl_easy_setopt: " + String(cString: curl_easy_strerror(code)))) }
        multi.submit(easy) { code in
            let attempt = easy.attempt(after: code)
            self.idle.withLock { if $0.count < Self.keptIdle { $0.append(easy) } }
            done(attempt)
        }
    }

    public func after(_ ms: Double, _ work: @escaping @Sendable () -> Void) {
        multi.after(ms, work)
    }
}
