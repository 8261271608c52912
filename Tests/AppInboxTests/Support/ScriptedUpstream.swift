import Testing

@testable import AppInbox

/// A stand-in for eSputnik: answers with scripted attempts in order (repeating the last one),
/// records every call, and can be slow, hang (honouring the timeout, as curl does) or hold a
/// call until the test releases it (at most 10 s). On a `VirtualClock` slow answers and pauses
/// take no real time. Answers come on the calling thread, except held ones, which come on the
/// releasing thread (as curl's come on its event loop's).
final class ScriptedUpstream: Sendable {
    enum Step: Sendable {
        /// Answers at once.
        case now(UpstreamAttempt)
        /// Takes `ms` to answer; `.timedOut` after the attempt's timeout if that is shorter.
        case after(ms: Double, UpstreamAttempt)
        /// Never answers: the attempt times out.
        case hang
        /// Waits until `release()`, then answers.
        case held(UpstreamAttempt)
    }

    struct Call: Sendable {
        var body: [UInt8]
        var timeoutMs: Int
        var atMs: Double
        /// The API key of the settings the calling transport was made with.
        var apiKey: String
    }

    private struct State {
        var script: [Step]
        var calls: [Call] = []
        var released = false
        /// The answers of held calls, given on `release()`.
        var held: [@Sendable () -> Void] = []
    }

    private let state: Locked<State>
    let clock: VirtualClock?

    init(_ script: [Step], clock: VirtualClock? = nil) {
        precondition(!script.isEmpty)
        state = Locked(State(script: script))
        self.clock = clock
    }

    var calls: [Call] { state.withLock { $0.calls } }

    /// Replaces the script for the calls still to come.
    func answer(_ script: [Step]) {
        precondition(!script.isEmpty)
        state.withLock {
            $0.script = script
            $0.calls.removeAll()
        }
    }

    /// Lets every held call answer (on this thread), and later ones answer at once.
    func release() {
        let held = state.withLock { state -> [@Sendable () -> Void] in
            state.released = true
            defer { state.held.removeAll() }
            return state.held
        }
        for answer in held { answer() }
    }

    /// A worker's transport, as `AppInboxService` asks for one.
    func transport(_ settings: UpstreamSettings) -> any UpstreamTransport {
        Connection(upstream: self, apiKey: settings.apiKey)
    }

    private func now() -> Double { clock?.now() ?? MonotonicClock.nowMs() }

    private func wait(_ ms: Double) {
        if let clock { clock.advance(ms) } else { MonotonicClock.sleep(ms: ms) }
    }

    fileprivate func post(
        _ body: [UInt8], timeoutMs: Int, apiKey: String, done: @escaping @Sendable (UpstreamAttempt) -> Void
    ) {
        let step = state.withLock { state in
            state.calls.append(Call(body: body, timeoutMs: timeoutMs, atMs: now(), apiKey: apiKey))
            return state.script[min(state.calls.count - 1, state.script.count - 1)]
        }
        switch step {
        case .now(let attempt):
            done(attempt)
        case .after(let ms, let attempt):
            if Double(timeoutMs) < ms {
                wait(Double(timeoutMs))
                return done(.timedOut)
            }
            wait(ms)
            done(attempt)
        case .hang:
            wait(Double(timeoutMs))
            done(.timedOut)
        case .held(let attempt):
            let isReleased = state.withLock { state -> Bool in
                if state.released { return true }
                state.held.append { done(attempt) }
                return false
            }
            if isReleased { done(attempt) }
        }
    }

    /// Pauses between attempts pass on the virtual clock, or really.
    fileprivate func after(_ ms: Double, _ work: @escaping @Sendable () -> Void) {
        wait(ms)
        work()
    }

    /// Fails a test that left a call held (its answer would never come).
    func expectNothingHeld() {
        let held = state.withLock { $0.held.count }
        if held > 0 { Issue.record("\(held) held call(s) were never released") }
    }

    private struct Connection: UpstreamTransport {
        let upstream: ScriptedUpstream
        let apiKey: String

        func post(_ body: [UInt8], timeoutMs: Int, done: @escaping @Sendable (UpstreamAttempt) -> Void) {
            upstream.post(body, timeoutMs: timeoutMs, apiKey: apiKey, done: done)
        }

        func after(_ ms: Double, _ work: @escaping @Sendable () -> Void) {
            upstream.after(ms, work)
        }
    }
}
