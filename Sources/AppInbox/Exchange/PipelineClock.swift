/// Where the token pipeline reads the time and waits: the monotonic clock in production, a
/// test's virtual clock in tests, so that deadlines, backoff, TTLs, limits and the breaker's
/// cooldown are tested without sleeping.
public struct PipelineClock: Sendable {
    /// Milliseconds since an arbitrary start.
    public var now: @Sendable () -> Double
    /// Waits this many milliseconds.
    public var pause: @Sendable (Double) -> Void

    /// A clock from its two functions.
    public init(now: @escaping @Sendable () -> Double, pause: @escaping @Sendable (Double) -> Void) {
        self.now = now
        self.pause = pause
    }

    /// `CLOCK_MONOTONIC` and `nanosleep`.
    public static let monotonic = PipelineClock(now: MonotonicClock.nowMs, pause: { MonotonicClock.sleep(ms: $0) })
}
