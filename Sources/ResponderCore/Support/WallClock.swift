import Glibc

/// The wall clock, for the one thing that must agree with other machines: the `exp`, `nbf` and
/// `iat` of signed identity tokens. Deadlines and durations use `MonotonicClock`.
public enum WallClock {
    /// Seconds since 1970-01-01 UTC.
    public static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
    }
}
