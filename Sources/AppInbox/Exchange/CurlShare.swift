import CCurl

/// DNS cache and TLS sessions shared by every worker's curl handle, so a worker's first request
/// resumes a TLS session instead of a full handshake. Created once, before the workers start.
public final class CurlShare: @unchecked Sendable {
    let handle: OpaquePointer?

    /// Creates the share handle; call `CurlShare.globalInit()` first.
    public init() throws(UpstreamSetupError) {
        guard let share = ccurl_share_create() else { throw UpstreamSetupError(function: "curl_share_init", detail: "failed") }
        handle = OpaquePointer(share)
    }

    /// `curl_global_init`, which is not thread-safe: call once from `main`, before any thread starts.
    public static func globalInit() throws(UpstreamSetupError) {
        let code = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        guard code == CURLE_OK else {
            throw UpstreamSetupError(function: "curl_global_init", detail: String(cString: curl_easy_strerror(code)))
        }
    }
}

/// A curl call that failed while setting up a handle.
public struct UpstreamSetupError: Error, CustomStringConvertible {
    /// The failing C function.
    public var function: String
    /// curl's explanation.
    public var detail: String
    /// `function: detail`.
    public var description: String { "\(function): \(detail)" }
}
