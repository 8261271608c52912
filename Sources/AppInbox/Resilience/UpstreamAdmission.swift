import Synchronization

/// Decides whether one more call to eSputnik may start.
///
/// A call holds no thread (it waits in the curl event loop), but it holds its request, the web
/// server's connection and a little memory until eSputnik answers. While eSputnik answers, a
/// burst is worth its wait: calls queue briefly and succeed, up to a generous cap. While it
/// stalls, every call admitted waits for the whole timeout and would reach eSputnik all at once
/// when it recovers, so the default cap tightens: when calls are in flight and none has finished
/// for `stallAfterMs`, calls beyond a smaller cap get a fast 503. An operator's
/// APP_INBOX_MAX_UPSTREAM is a fixed cap instead.
public final class UpstreamAdmission: Sendable {
    /// The most calls at once while eSputnik keeps answering.
    public let cap: Int
    /// The most calls at once while it stalls.
    public let stalledCap: Int
    /// How long without any call finishing, while calls are in flight, counts as a stall.
    public let stallAfterMs: Double

    private let inFlight: Atomic<Int>
    /// When a call last finished, or the first of a burst started after none was in flight.
    private let progressMs = Atomic<Int>(0)

    /// A fixed cap of `maxUpstream` when the operator set one; else
    /// `ResilienceSettings.defaultMaxUpstream`, and `defaultMaxUpstreamWhileStalled` in a stall.
    public convenience init(maxUpstream: Int?, stallAfterMs: Double = 500) {
        self.init(
            cap: maxUpstream ?? ResilienceSettings.defaultMaxUpstream,
            stalledCap: maxUpstream ?? ResilienceSettings.defaultMaxUpstreamWhileStalled, stallAfterMs: stallAfterMs)
    }

    /// Caps of the caller's choosing (tests).
    init(cap: Int, stalledCap: Int, stallAfterMs: Double = 500) {
        self.cap = cap
        self.stalledCap = stalledCap
        self.stallAfterMs = stallAfterMs
        inFlight = Atomic(0)
    }

    /// Calls under way now.
    public var count: Int { inFlight.load(ordering: .relaxed) }

    /// Starts a call if the cap allows; a true answer must be matched by one `finish`.
    public func admit(nowMs: Double) -> Bool {
        let count = inFlight.add(1, ordering: .relaxed).newValue
        if count == 1 { progressMs.store(Int(nowMs), ordering: .relaxed) }
        let stalled = count > 1 && nowMs - Double(progressMs.load(ordering: .relaxed)) >= stallAfterMs
        guard count <= (stalled ? stalledCap : cap) else {
            inFlight.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Ends an admitted call, whatever its outcome.
    public func finish(nowMs: Double) {
        progressMs.store(Int(nowMs), ordering: .relaxed)
        inFlight.subtract(1, ordering: .relaxed)
    }
}
