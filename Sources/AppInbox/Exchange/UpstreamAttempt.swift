/// What one HTTP attempt against eSputnik's token endpoint produced, before interpretation.
public enum UpstreamAttempt: Sendable, Equatable {
    /// An HTTP answer arrived in full.
    case answered(status: Int, body: [UInt8], retryAfter: Int?)
    /// The attempt's time ran out (connect or total).
    case timedOut
    /// No connection, or it broke before a full answer: worth another try.
    case connectionFailed(String)
    /// The answer's body passed the size limit and was cut off.
    case bodyTooLarge
    /// TLS verification or another failure that a retry cannot fix.
    case failed(String)

    /// The largest answer body read from eSputnik; a token answer is well under 1 KiB.
    public static let maxBodyBytes = 64 * 1024
}

/// What to do with an attempt's result.
public enum AttemptVerdict: Sendable, Equatable {
    /// eSputnik answered with a token (possibly empty: no such contact).
    case token(String)
    /// A final answer for the client.
    case fail(APIError)
    /// Worth retrying while the deadline allows; otherwise answer with this error.
    case retry(APIError)
}

extension UpstreamAttempt {
    /// Maps eSputnik's answer to ours (README.md "Token exchange"): the client never sees
    /// the upstream body, only one of our error codes.
    public var verdict: AttemptVerdict {
        switch self {
        case .answered(200, let body, _):
            guard let token = JSONValue.parse(body)?["token"]?.stringValue else { return .fail(.badUpstreamResponse) }
            return .token(token)
        case .answered(400, _, _):
            return .fail(.upstreamRejected)
        case .answered(401, _, _), .answered(403, _, _):
            return .fail(.upstreamAuthFailed)
        case .answered(429, _, let retryAfter):
            return .fail(.upstreamUnavailable(retryAfter: retryAfter))
        case .answered(500...599, _, _):
            return .retry(.upstreamUnavailable())
        case .answered:
            return .fail(.badUpstreamResponse)
        case .timedOut:
            return .retry(.upstreamTimeout)
        case .connectionFailed:
            return .retry(.upstreamUnavailable())
        case .bodyTooLarge:
            return .fail(.badUpstreamResponse)
        case .failed:
            return .fail(.upstreamUnavailable())
        }
    }

    /// The upstream HTTP status, for logs and counters.
    public var status: Int? {
        if case .answered(let status, _, _) = self { return status }
        return nil
    }
}

extension UpstreamAttempt {
    /// The longest `Retry-After` passed on to the browser, in seconds. eSputnik's header is
    /// trusted only this far: an HTTP date in the year 9999 once became 251,606,288,227 s.
    public static let maxRetryAfterSeconds = 3600

    /// curl's parsed `Retry-After` (seconds; 0 when absent or unparsable), bounded for clients.
    static func clampedRetryAfter(_ seconds: Int) -> Int? {
        seconds > 0 ? min(seconds, maxRetryAfterSeconds) : nil
    }
}
