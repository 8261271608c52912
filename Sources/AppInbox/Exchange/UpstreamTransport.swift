/// Sends token requests to eSputnik without holding the caller's thread. `CurlMultiTransport`
/// is the real one (one event loop for every exchange); the retry and deadline logic in
/// `TokenExchange` is written against this so it can be tested with a script.
public protocol UpstreamTransport: Sendable {
    /// POSTs `body` and calls `done` exactly once, on any thread, with what came of it within
    /// `timeoutMs`.
    func post(_ body: [UInt8], timeoutMs: Int, done: @escaping @Sendable (UpstreamAttempt) -> Void)
    /// Runs `work` after `ms` milliseconds (the pause between attempts), on any thread.
    func after(_ ms: Double, _ work: @escaping @Sendable () -> Void)
}
