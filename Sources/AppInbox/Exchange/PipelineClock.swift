/// Where the token pipeline reads the time: the monotonic clock in production, a test's virtual
/// clock in tests, so that deadlines, TTLs, limits and the breaker's cooldown are tested without
/// sleeping. (Pauses between attempts are the transport's: `UpstreamTransport.after`.)
public struct PipelineClock: Sendable {
    /// Milliseconds since an arbitrary start.
    public var now: @Sendable () -> Double

    /// A clock from its function.
    public init(now: @escaping @Sendable () -> Double) {
        self.now = now
    }

    /// `CLOCK_MONOTONIC`.
    public static let monotonic = PipelineClock(now: MonotonicClock.nowMs)
}
