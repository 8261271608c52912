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
    /// Final: no retry can change it.
    case fail(UpstreamFailure)
    /// Worth retrying while the deadline allows; otherwise this is the failure.
    case retry(UpstreamFailure)
}

extension UpstreamAttempt {
    /// Maps eSputnik's answer to ours (README.md "Token exchange"): the client never sees
    /// the upstream body, only one of our error codes.
    public var verdict: AttemptVerdict {
        switch self {
        case .answered(200, let body, _):
            guard let token = JSONValue.parse(body)?["token"]?.stringValue else { return .fail(.badResponse) }
            return .token(token)
        case .answered(400, _, _):
            return .fail(.rejected)
        case .answered(401, _, _), .answered(403, _, _):
            return .fail(.refusedKey)
        case .answered(429, _, let retryAfter):
            return .fail(.throttled(retryAfter: retryAfter))
        case .answered(500...599, _, _):
            return .retry(.unavailable)
        case .answered:
            return .fail(.badResponse)
        case .timedOut:
            return .retry(.timedOut)
        case .connectionFailed:
            return .retry(.unavailable)
        case .bodyTooLarge:
            return .fail(.badResponse)
        case .failed:
            return .fail(.unavailable)
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
