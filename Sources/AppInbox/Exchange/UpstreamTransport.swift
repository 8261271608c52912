/// Sends one token request to eSputnik. `CurlUpstream` is the real one; the retry and deadline
/// logic in `TokenExchange` is written against this so it can be tested on its own.
public protocol UpstreamTransport {
    /// POSTs `body` and waits at most `timeoutMs` for the whole answer.
    func post(_ body: [UInt8], timeoutMs: Int) -> UpstreamAttempt
}
