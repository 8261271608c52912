/// Calls to eSputnik per second, as a generic cell rate algorithm with a burst of `burstMs`'
/// worth: in fleet mode the fleet's budget is kept in Redis (`FleetScripts.lead`); this is the
/// same limit kept by one responder, for when Redis cannot be reached.
public final class UpstreamBudget: Sendable {
    private let burstMs: Double
    private let state: Locked<(rate: CellRate, theoreticalMs: Double)>

    /// The burst a budget allows on top of its rate: 100 ms' worth of calls.
    public static let burstMs = 100.0

    /// `perSecond` calls per second.
    public init(perSecond: Double, burstMs: Double = UpstreamBudget.burstMs) {
        self.burstMs = burstMs
        state = Locked((CellRate(perSecond: perSecond, burstMs: burstMs), -Double.infinity))
    }

    /// Changes the rate (a new share of the fleet's budget) from the next call on.
    public func setRate(perSecond: Double) {
        let rate = CellRate(perSecond: perSecond, burstMs: burstMs)
        state.withLock { $0.rate = rate }
    }

    /// nil when a call may start now (and counts it); otherwise the seconds until one may.
    public func admit(nowMs: Double) -> Int? {
        state.withLock { state in
            let rate = state.rate
            return rate.admit(&state.theoreticalMs, nowMs: nowMs)
        }
    }
}
