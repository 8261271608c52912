import CCurl

/// DNS cache and TLS sessions shared by every worker's curl handle, so a worker's first request
/// resumes a TLS session instead of a full handshake. Created once, before the workers start.
public final class CurlShare: @unchecked Sendable {
    let handle: OpaquePointer?

    /// The process's share, made (after `globalInit`) on the first call: it lives as long as the
    /// process, because every worker's handle uses it until the very end, and the workers parked
    /// on idle connections are not joined at shutdown. Held here, so that it is never freed under
    /// them and never looks like a leak (LeakSanitizer checks at exit). Call from `main`, before
    /// the workers start.
    public static func process() throws(SetupError) -> CurlShare {
        if let share = processShare.withLock({ $0 }) { return share }
        try globalInit()
        let share = try CurlShare()
        processShare.withLock { $0 = share }
        return share
    }

    private static let processShare = Locked<CurlShare?>(nil)

    /// Creates a share handle; call `CurlShare.globalInit()` first.
    public init() throws(SetupError) {
        guard let share = ccurl_share_create() else { throw SetupError(function: "curl_share_init", detail: "failed") }
        handle = OpaquePointer(share)
    }

    /// The oldest libcurl that has every option we set (`CURLOPT_PROTOCOLS_STR` came in 7.85.0).
    public static let minimumVersion: (number: UInt32, text: String) = (0x07_55_00, "7.85.0")

    /// `curl_global_init`, which is not thread-safe: call once from `main`, before any thread
    /// starts. Refuses a libcurl older than `minimumVersion` with a sentence, not a crash later.
    public static func globalInit() throws(SetupError) {
        guard let info = ccurl_version_info() else {
            throw SetupError(function: "curl_version_info", detail: "libcurl reports no version")
        }
        guard info.pointee.version_num >= minimumVersion.number else {
            let found = info.pointee.version.map { String(cString: $0) } ?? "unknown"
            throw SetupError(
                function: "libcurl", detail: "version \(minimumVersion.text) or later is required; this system has \(found)")
        }
        let code = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        guard code == CURLE_OK else {
            throw SetupError(function: "curl_global_init", detail: String(cString: curl_easy_strerror(code)))
        }
    }
}
