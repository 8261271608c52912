import Testing

@testable import AppInbox

/// A stand-in for eSputnik: answers with scripted attempts in order (repeating the last one),
/// records every call, and can be slow, hang (honouring the timeout, as curl does) or hold a
/// call until the test releases it (at most 10 s). On a `VirtualClock` slow answers take no real time.
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

    /// Lets every held call answer.
    func release() {
        state.withLock { $0.released = true }
    }

    /// A worker's transport, as `AppInboxService` asks for one.
    func transport(_ settings: UpstreamSettings) -> any UpstreamTransport {
        Connection(upstream: self, apiKey: settings.apiKey)
    }

    private func now() -> Double { clock?.now() ?? MonotonicClock.nowMs() }

    private func wait(_ ms: Double) {
        if let clock { clock.advance(ms) } else { MonotonicClock.sleep(ms: ms) }
    }

    fileprivate func post(_ body: [UInt8], timeoutMs: Int, apiKey: String) -> UpstreamAttempt {
        let step = state.withLock { state in
            state.calls.append(Call(body: body, timeoutMs: timeoutMs, atMs: now(), apiKey: apiKey))
            return state.script[min(state.calls.count - 1, state.script.count - 1)]
        }
        switch step {
        case .now(let attempt):
            return attempt
        case .after(let ms, let attempt):
            if Double(timeoutMs) < ms {
                wait(Double(timeoutMs))
                return .timedOut
            }
            wait(ms)
            return attempt
        case .hang:
            wait(Double(timeoutMs))
            return .timedOut
        case .held(let attempt):
            // Bounded, so that a test that forgets to release fails instead of hanging the suite.
            let deadline = MonotonicClock.nowMs() + 10_000
            while !state.withLock({ $0.released }) {
                guard MonotonicClock.nowMs() < deadline else {
                    Issue.record("a held call was never released")
                    return .timedOut
                }
                MonotonicClock.sleep(ms: 1)
            }
            return attempt
        }
    }

    private struct Connection: UpstreamTransport {
        let upstream: ScriptedUpstream
        let apiKey: String

        func post(_ body: [UInt8], timeoutMs: Int) -> UpstreamAttempt {
            upstream.post(body, timeoutMs: timeoutMs, apiKey: apiKey)
        }
    }
}
