/// The generic cell rate algorithm's arithmetic, for the per-identity rate limit (`RateLimiter`)
/// and the budget of calls to eSputnik (`UpstreamBudget`); `FleetScripts`' `limit` is its Lua
/// twin, and takes these two numbers. A limited thing keeps one number: its theoretical arrival
/// time, when its allowance is next fully restored.
struct CellRate: Sendable {
    /// What one call uses up of the allowance.
    let intervalMs: Double
    /// How far ahead of now the theoretical arrival time may run: the burst on top of the rate.
    let burstMs: Double

    /// `perMinute` calls in any minute, all of them at once if need be (the per-identity limit).
    init(perMinute: Int) {
        intervalMs = 60_000 / Double(max(perMinute, 1))
        burstMs = 60_000 - intervalMs
    }

    /// `perSecond` calls a second, with `burstMs`' worth of calls on top.
    init(perSecond: Double, burstMs: Double) {
        intervalMs = 1000 / max(perSecond, 0.001)
        self.burstMs = burstMs
    }

    /// nil when a call at `nowMs` fits, and `theoreticalMs` moves on by one call; otherwise the
    /// whole seconds until it would fit, and nothing changes.
    func admit(_ theoreticalMs: inout Double, nowMs: Double) -> Int? {
        let theoretical = max(theoreticalMs, nowMs)
        let wait = theoretical - nowMs - burstMs
        // A microsecond of slack: N additions of 60000/N need not land exactly on the burst.
        if wait > 0.001 { return Int((wait / 1000).rounded(.up)) }
        theoreticalMs = theoretical + intervalMs
        return nil
    }
}
