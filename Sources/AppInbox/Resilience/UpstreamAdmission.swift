import Synchronization

/// Decides whether one more call to eSputnik may start.
///
/// Each call holds a worker thread until eSputnik answers. While eSputnik answers, calls beyond
/// the reserve are worth their wait: they queue briefly and succeed. While it stalls, every call
/// admitted holds a worker for the whole timeout, and once all workers hang there, `healthz`,
/// `init.js` and `status` wait too. So the default cap tightens only during a stall: when calls
/// are in flight and none has finished for `stallAfterMs`, a quarter of the workers is kept for
/// the other routes and the calls beyond get a fast 503. An operator's APP_INBOX_MAX_UPSTREAM is
/// a fixed cap instead.
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

    /// A fixed cap of `maxUpstream` when the operator set one; else all `threads` while eSputnik
    /// answers and `ResilienceSettings.defaultMaxUpstream(threads:)` while it stalls.
    public init(threads: Int, maxUpstream: Int?, stallAfterMs: Double = 500) {
        cap = maxUpstream ?? threads
        stalledCap = maxUpstream ?? ResilienceSettings.defaultMaxUpstream(threads: threads)
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
