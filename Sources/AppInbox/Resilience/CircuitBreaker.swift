/// The circuit breaker's logic: a plain state machine, driven by the caller with the time, so it
/// is tested without clocks or sockets. After `threshold` consecutive failures it opens and
/// refuses calls for `cooldownMs`; then it lets exactly one probe through, and the probe's
/// result closes it again or reopens it.
public struct CircuitBreaker: Sendable, Equatable {
    /// Where the breaker stands.
    public enum State: Sendable, Equatable {
        case closed(failures: Int)
        case open(untilMs: Double)
        case probing
    }

    /// What the caller may do now.
    public enum Decision: Sendable, Equatable {
        /// Call eSputnik.
        case proceed
        /// Call eSputnik as the single probe of a half-open breaker.
        case probe
        /// Do not call; answer 503 with this Retry-After.
        case reject(retryAfterSeconds: Int)
    }

    /// The current state.
    public private(set) var state = State.closed(failures: 0)
    /// How many times the breaker has opened.
    public private(set) var openCount = 0
    let threshold: Int
    let cooldownMs: Double

    /// Creates a closed breaker.
    public init(threshold: Int, cooldownSeconds: Int) {
        self.threshold = threshold
        cooldownMs = Double(cooldownSeconds) * 1000
    }

    /// Asks whether a call may start at `nowMs`.
    public mutating func decide(nowMs: Double) -> Decision {
        switch state {
        case .closed:
            return .proceed
        case .open(let untilMs) where nowMs >= untilMs:
            state = .probing
            return .probe
        case .open(let untilMs):
            return .reject(retryAfterSeconds: max(1, Int(((untilMs - nowMs) / 1000).rounded(.up))))
        case .probing:
            return .reject(retryAfterSeconds: 1)
        }
    }

    /// A change the caller should announce.
    public enum Transition: Sendable, Equatable {
        /// Calls are refused from now on, for the cooldown.
        case opened
        /// A success after the breaker had opened: calls go through again.
        case closed
    }

    /// Reports a call's result: `failed` for eSputnik being down, slow or garbled. Returns the
    /// transition this caused, if any.
    @discardableResult
    public mutating func record(failed: Bool, nowMs: Double) -> Transition? {
        switch (state, failed) {
        case (.closed, false):
            state = .closed(failures: 0)
            return nil
        case (_, false):
            state = .closed(failures: 0)
            return .closed
        case (.closed(let failures), true) where failures + 1 < threshold:
            state = .closed(failures: failures + 1)
            return nil
        case (.closed, true), (.probing, true):
            state = .open(untilMs: nowMs + cooldownMs)
            openCount += 1
            return .opened
        case (.open, true):
            return nil  // a call that started before the breaker opened
        }
    }

    /// Whether calls go through unhindered (for strict health).
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// The state without its data, as `status` names it.
    public enum Phase: String, Sendable, CaseIterable {
        case closed, open
        case halfOpen = "half_open"
    }

    /// Where the breaker stands, for status.
    public var phase: Phase {
        switch state {
        case .closed: .closed
        case .open: .open
        case .probing: .halfOpen
        }
    }
}
