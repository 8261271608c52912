/// Calls to eSputnik per second, as a generic cell rate algorithm with a burst of `burstMs`'
/// worth: in fleet mode the fleet's budget is kept in Redis (`FleetScripts.lead`); this is the
/// same limit kept by one responder, for when Redis cannot be reached.
public final class UpstreamBudget: Sendable {
    private let burstMs: Double
    private let state = Locked((intervalMs: 0.0, theoreticalMs: -Double.infinity))

    /// The burst a budget allows on top of its rate: 100 ms' worth of calls.
    public static let burstMs = 100.0

    /// `perSecond` calls per second.
    public init(perSecond: Double, burstMs: Double = UpstreamBudget.burstMs) {
        self.burstMs = burstMs
        state.withLock { $0.intervalMs = 1000 / max(perSecond, 0.001) }
    }

    /// Changes the rate (a new share of the fleet's budget) from the next call on.
    public func setRate(perSecond: Double) {
        state.withLock { $0.intervalMs = 1000 / max(perSecond, 0.001) }
    }

    /// nil when a call may start now (and counts it); otherwise the seconds until one may.
    public func admit(nowMs: Double) -> Int? {
        let burstMs = burstMs
        return state.withLock { state in
            let theoretical = max(state.theoreticalMs, nowMs)
            let wait = theoretical - nowMs - burstMs
            if wait > 0.001 { return max(1, Int((wait / 1000).rounded(.up))) }
            state.theoreticalMs = theoretical + state.intervalMs
            return nil
        }
    }
}
