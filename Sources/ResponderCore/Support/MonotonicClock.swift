import Glibc

/// Monotonic milliseconds, for deadlines and durations that must not jump with the wall clock.
public enum MonotonicClock {
    /// Milliseconds since an arbitrary fixed point.
    public static func nowMs() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
    }

    /// Sleeps for `ms` milliseconds, resuming after signals.
    public static func sleep(ms: Double) {
        guard ms > 0 else { return }
        var request = timespec(tv_sec: Int(ms / 1000), tv_nsec: Int((ms.truncatingRemainder(dividingBy: 1000)) * 1_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }
}
