import CCurl
import Glibc
import Synchronization

/// libcurl's multi interface on one thread of its own: every exchange with eSputnik, whoever
/// started it, is a transfer here, so a request waiting for eSputnik is an entry in a table,
/// not a blocked thread. Connections to eSputnik are kept and reused by the multi handle; TLS
/// sessions and DNS come from the process's `CurlShare`. Finished transfers and due pauses run
/// their continuations on this thread. The loop is epoll with curl_multi_socket_action(3)
/// (Sources/CCurl/loop.c), so an event touches only the transfer whose socket it concerns.
/// In fleet mode the Redis connection lives on the same loop (`watch`, `perform`): a request
/// waiting for Redis is an entry in a table too.
public final class CurlMulti: @unchecked Sendable {
    private let multi: UnsafeMutableRawPointer
    private let loop = UnsafeMutablePointer<ccurl_loop>.allocate(capacity: 1)
    /// Handed over by other threads; the loop takes them on its next turn.
    private let inbox = Locked(Inbox())
    /// Whether the loop may be waiting in epoll: only then does a hand-over write to the eventfd.
    /// Under load the loop is mostly busy, and a request handed over costs no system call.
    private let mayBeWaiting = Atomic<Bool>(false)
    /// The loop thread's own: transfers under way by easy handle, and pauses by due time.
    private var running: [UnsafeMutableRawPointer: @Sendable (CURLcode) -> Void] = [:]
    private var timers: [Timer] = []

    private struct Inbox {
        var transfers: [(CurlEasy, @Sendable (CURLcode) -> Void)] = []
        var timers: [Timer] = []
        var jobs: [@Sendable () -> Void] = []
    }
    /// Run on this thread when the watched descriptor is readable, and before each wait.
    private var onWatchedReady: (@Sendable () -> Void)?
    private var beforeWait: (@Sendable () -> Void)?

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

    /// Idle connections to eSputnik kept for reuse: as many as calls may be under way by
    /// default (`ResilienceSettings.defaultMaxUpstream`); only connections some burst needed are
    /// ever opened. Unset, libcurl sizes its cache by the transfers under way, so each burst's
    /// end closed connections the next burst reopened, with a TLS handshake each: 9,328 in one
    /// benchmark run where one kept connection per worker had needed 32.
    static let keptConnections = ResilienceSettings.defaultMaxUpstream

    private init() throws(SetupError) {
        guard let multi = curl_multi_init() else { throw SetupError(function: "curl_multi_init", detail: "failed") }
        self.multi = multi
        loop.initialize(to: ccurl_loop(epoll: -1, wake: -1, deadline_ms: -1, watched: -1))
        guard ccurl_loop_init(loop, multi, Int32(Self.keptConnections)) == 0 else {
            curl_multi_cleanup(multi)
            throw SetupError(function: "ccurl_loop_init", detail: String(cString: strerror(errno)))
        }
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

    /// Runs `work` on the loop thread, on its next turn.
    func perform(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.jobs.append(work) }
        wake()
    }

    /// Has the loop wait on `fd` too and run `onReady` (on the loop thread) whenever it is
    /// readable, and `beforeWait` before each wait; one descriptor at most (the Redis
    /// connection's epoll set). Waits until the loop thread has taken it: the loop's state is
    /// that thread's alone.
    func watch(
        _ fd: Int32, onReady: @escaping @Sendable () -> Void, beforeWait: @escaping @Sendable () -> Void
    ) throws(SetupError) {
        let failure = Awaited<Int32>()
        perform {
            let watched = ccurl_loop_watch(self.loop, fd) == 0
            if watched { (self.onWatchedReady, self.beforeWait) = (onReady, beforeWait) }
            failure.supply(watched ? 0 : errno)
        }
        let code = failure.wait()
        guard code == 0 else { throw SetupError(function: "ccurl_loop_watch", detail: String(cString: strerror(code))) }
    }

    /// Called after adding to the inbox. The loop sets `mayBeWaiting` before it looks at the
    /// inbox a last time and waits, so either it sees what was added, or this sees the flag.
    private func wake() {
        if mayBeWaiting.exchange(false, ordering: .sequentiallyConsistent) { ccurl_loop_wake(loop) }
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
            for job in arrived.jobs { job() }
            runDueTimers()
            var handle: UnsafeMutableRawPointer?
            var result = CURLE_OK
            while ccurl_multi_next_done(multi, &handle, &result) == 1, let finished = handle {
                _ = curl_multi_remove_handle(multi, finished)
                running.removeValue(forKey: finished)?(result)
            }
            // Waits at most this long, less if curl's own timer is due sooner; a new transfer
            // or pause from another thread wakes it at once.
            let nextTimer = timers.map(\.dueMs).min().map { max(0, $0 - MonotonicClock.nowMs()) } ?? 1000
            beforeWait?()
            mayBeWaiting.store(true, ordering: .sequentiallyConsistent)
            let handedOver = inbox.withLock { !$0.transfers.isEmpty || !$0.timers.isEmpty || !$0.jobs.isEmpty }
            let waitMs = handedOver ? 0 : Int32(min(nextTimer.rounded(.up), 1000))
            var watchedReady: Int32 = 0
            if ccurl_loop_run_once(loop, multi, waitMs, &watchedReady) != 0 {
                MonotonicClock.sleep(ms: 1)  // epoll_wait failed (not EINTR): do not spin
            }
            mayBeWaiting.store(false, ordering: .sequentiallyConsistent)
            if watchedReady != 0 { onWatchedReady?() }
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
