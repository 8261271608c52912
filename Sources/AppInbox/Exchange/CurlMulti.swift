import CCurl

/// libcurl's multi interface on one thread of its own: every exchange with eSputnik, whoever
/// started it, is a transfer here, so a request waiting for eSputnik is an entry in a table,
/// not a blocked thread. Connections to eSputnik are kept and reused by the multi handle; TLS
/// sessions and DNS come from the process's `CurlShare`. Finished transfers and due pauses run
/// their continuations on this thread. (libcurl: curl_multi_poll(3), curl_multi_wakeup(3).)
public final class CurlMulti: @unchecked Sendable {
    private let multi: UnsafeMutableRawPointer
    /// Handed over by other threads; the loop takes them on its next turn.
    private let inbox = Locked(Inbox())
    /// The loop thread's own: transfers under way by easy handle, and pauses by due time.
    private var running: [UnsafeMutableRawPointer: @Sendable (CURLcode) -> Void] = [:]
    private var timers: [Timer] = []

    private struct Inbox {
        var transfers: [(CurlEasy, @Sendable (CURLcode) -> Void)] = []
        var timers: [Timer] = []
    }

    private struct Timer {
        let dueMs: Double
        let work: @Sendable () -> Void
    }

    /// The process's multi handle and its thread, started on the first call (after
    /// `CurlShare.globalInit`): it lives as long as the process, like the share.
    public static func process() throws(SetupError) -> CurlMulti {
        if let multi = processMulti.withLock({ $0 }) { return multi }
        let multi = try CurlMulti()
        processMulti.withLock { $0 = multi }
        return multi
    }

    private static let processMulti = Locked<CurlMulti?>(nil)

    private init() throws(SetupError) {
        guard let multi = curl_multi_init() else { throw SetupError(function: "curl_multi_init", detail: "failed") }
        self.multi = multi
        guard DetachedThread.start({ self.run() }) else {
            curl_multi_cleanup(multi)
            throw SetupError(function: "pthread_create", detail: "the curl event loop's thread")
        }
    }

    /// Starts `easy`'s prepared transfer; `done` runs on the loop thread with curl's result.
    func submit(_ easy: CurlEasy, done: @escaping @Sendable (CURLcode) -> Void) {
        inbox.withLock { $0.transfers.append((easy, done)) }
        wake()
    }

    /// Runs `work` on the loop thread after `ms` milliseconds.
    func after(_ ms: Double, _ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.timers.append(Timer(dueMs: MonotonicClock.nowMs() + ms, work: work)) }
        wake()
    }

    private func wake() {
        // Fails only for a bad handle; the loop also wakes at least once a second.
        _ = curl_multi_wakeup(multi)
    }

    private func run() {
        while true {
            let arrived = inbox.withLock { inbox -> Inbox in
                defer { inbox = Inbox() }
                return inbox
            }
            for (easy, done) in arrived.transfers {
                let added = curl_multi_add_handle(multi, easy.handle)
                if added == CURLM_OK {
                    running[easy.handle] = done
                } else {
                    // Reported as a failed attempt: the exchange may retry within its deadline.
                    done(CURLE_FAILED_INIT)
                }
            }
            timers += arrived.timers
            runDueTimers()
            var stillRunning: Int32 = 0
            _ = curl_multi_perform(multi, &stillRunning)
            var handle: UnsafeMutableRawPointer?
            var result = CURLE_OK
            while ccurl_multi_next_done(multi, &handle, &result) == 1, let finished = handle {
                _ = curl_multi_remove_handle(multi, finished)
                running.removeValue(forKey: finished)?(result)
            }
            // curl_multi_poll waits at most this long, less if a transfer's own timeout is sooner.
            let nextTimer = timers.map(\.dueMs).min().map { max(0, $0 - MonotonicClock.nowMs()) } ?? 1000
            _ = curl_multi_poll(multi, nil, 0, Int32(min(nextTimer.rounded(.up), 1000)), nil)
        }
    }

    private func runDueTimers() {
        guard !timers.isEmpty else { return }
        let now = MonotonicClock.nowMs()
        let due = timers.filter { $0.dueMs <= now }
        guard !due.isEmpty else { return }
        timers.removeAll { $0.dueMs <= now }
        for timer in due { timer.work() }
    }
}
