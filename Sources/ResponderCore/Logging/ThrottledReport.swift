/// Rate-limits a loud error line: the first occurrence is logged, then at most one per interval,
/// each with how many occurrences it stands for. A misconfiguration that fails every request
/// (a wrong API key, a repeated identity param) stays visible without flooding the log.
public final class ThrottledReport: Sendable {
    private struct State {
        var lastLoggedMs = -Double.infinity
        var suppressed = 0
    }

    private let state = Locked(State())
    private let intervalMs: Double

    /// Creates a report that logs at most once per `intervalMs`.
    public init(intervalMs: Double = 60_000) {
        self.intervalMs = intervalMs
    }

    /// Counts one occurrence; returns how many went unlogged since the last line when this one
    /// should be logged, nil when it falls inside the interval.
    public func occurrence(nowMs: Double) -> Int? {
        state.withLock { state in
            guard nowMs - state.lastLoggedMs >= intervalMs else {
                state.suppressed += 1
                return nil
            }
            defer {
                state.lastLoggedMs = nowMs
                state.suppressed = 0
            }
            return state.suppressed
        }
    }

    /// Counts one occurrence and, unless it falls inside the interval, logs `event` at error
    /// level with `detail` and how many occurrences went unlogged since the last line.
    public func error(_ event: String, detail: @autoclosure () -> String, nowMs: Double, to log: Log) {
        guard let suppressed = occurrence(nowMs: nowMs) else { return }
        log.error(event, ["detail": detail(), "since_last_report": String(suppressed)])
    }
}
