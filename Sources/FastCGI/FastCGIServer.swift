import CFastCGI
import Glibc
import ResponderCore
import Synchronization

/// The FastCGI process: N worker threads serving whatever connection one shared epoll reports
/// ready (`EventLoop`), and the main thread taking signals and sweeping idle connections.
public enum FastCGIServer {
    /// What the server needs to run.
    public struct Options: Sendable {
        /// The bound (or inherited) listening socket.
        public var socket: ListenSocket
        /// Worker threads.
        public var threads: Int
        /// How long in-flight requests may take after a stop signal.
        public var shutdownGraceSeconds: Int
        /// Where lifecycle events are logged.
        public var log: Log
        /// Told the listen queue's length now and then (TCP sockets only), for `status`.
        public var observeListenQueue: (@Sendable (Int) -> Void)?
        /// Seconds a connection may take to deliver a whole request head (`APP_INBOX_IDLE_TIMEOUT_S`).
        public var idleTimeoutSeconds = 10
        /// The most params bytes one request may carry (`APP_INBOX_MAX_PARAMS_BYTES`).
        public var maxParamsBytes = 65_536
        /// Which TCP peers may connect (`FCGI_WEB_SERVER_ADDRS`).
        public var peers = PeerFilter()
        /// The program's version, for the `listening` line.
        public var version = ""

        /// Creates server options.
        public init(socket: ListenSocket, threads: Int, shutdownGraceSeconds: Int, log: Log) {
            self.socket = socket
            self.threads = threads
            self.shutdownGraceSeconds = shutdownGraceSeconds
            self.log = log
        }
    }

    /// Builds one worker's responder on that worker's thread (so per-thread resources such as a
    /// curl handle are created where they are used).
    /// A responder answers now, or later from another thread (`Reply`), and never blocks a
    /// worker on something slow: other connections' requests wait for a free worker.
    public typealias ResponderFactory = @Sendable () throws -> (Request) -> Reply

    /// Ignores SIGPIPE: a client that aborts makes nginx close the connection, and a write to it
    /// must fail with EPIPE rather than kill the process. Call first thing in `main`.
    public static func ignoreBrokenPipes() {
        // sigaction(2) fails only for an invalid signal or handler, and these are valid.
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        precondition(sigaction(SIGPIPE, &ignore, nil) == 0, "sigaction(SIGPIPE, SIG_IGN) failed")
    }

    /// Why `run` returned.
    public enum StopReason: Sendable, Equatable {
        /// SIGTERM or SIGINT; `unfinished` requests were still running when the grace period ended.
        case signal(String, unfinished: Int)
        /// Serving never began: the signal mask, libfcgi, a thread or a worker's setup failed
        /// (logged as it happened).
        case setupFailed(String)
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish within the grace
    /// period and returns. Workers waiting in epoll are not joined, and idle kept connections
    /// stay open: the caller ends the process, which closes them.
    ///
    /// - Parameter onReload: called on SIGHUP, on the signal thread; nil ignores SIGHUP.
    public static func run(
        _ options: Options, onReload: (() -> Void)? = nil, makeResponder: @escaping ResponderFactory
    ) -> StopReason {
        // Block the stop signals in every thread (the workers inherit this mask) so that only
        // the sigtimedwait below sees them and no worker's accept or curl call is interrupted.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&stopSignals, signal) }
        guard pthread_sigmask(SIG_BLOCK, &stopSignals, nil) == 0 else {
            options.log.error("signal_setup_failed")
            return .setupFailed("pthread_sigmask")
        }

        guard FCGX_Init() == 0 else {
            options.log.error("fastcgi_init_failed")
            return .setupFailed("FCGX_Init")
        }
        options.socket.reserveReceiveBuffer(ConnectionGate.peekCapacity(maxParamsBytes: options.maxParamsBytes))
        guard let poller = Poller() else {
            options.log.error("poller_failed", ["error": String(cString: strerror(errno)), "detail": "epoll_create1"])
            return .setupFailed("epoll_create1")
        }
        // Workers take turns at the listener (one-shot): it must never block the one that wakes.
        guard options.socket.makeNonBlocking(), poller.arm(options.socket.fd, token: Poller.listenerToken, added: false) else {
            options.log.error("poller_failed", ["error": String(cString: strerror(errno)), "detail": "listener"])
            return .setupFailed("listener")
        }
        let state = ServerState()
        let connections = ConnectionTable()
        for index in 0..<options.threads {
            let started = DetachedThread.start {
                worker(index: index, options: options, state: state, poller: poller, connections: connections, makeResponder: makeResponder)
            }
            if !started {
                options.log.error("thread_start_failed", ["index": String(index)])
                return .setupFailed("pthread_create")
            }
        }
        // Every worker builds its responder before the first accept; one that cannot means the
        // process cannot serve as configured.
        if let failure = state.awaitWorkers(options.threads) { return .setupFailed(failure) }
        options.log.info(
            "listening",
            [
                "threads": String(options.threads), "version": options.version,
                "fd_limit": Descriptors.limit.map(String.init) ?? "unknown",
            ])

        // This thread takes the signals and sweeps the connections between them: often while a
        // partial request head waits for a recheck, four times a second otherwise.
        let policy = options.connectionPolicy
        var nextIdleSweep = 0.0
        while true {
            let waitMs = connections.hasPartials ? 5 : 250
            var timeout = timespec(tv_sec: 0, tv_nsec: waitMs * 1_000_000)
            let received = sigtimedwait(&stopSignals, nil, &timeout)
            let now = MonotonicClock.nowMs()
            connections.sweepPartials(policy: policy, poller: poller, nowMs: now)
            if now >= nextIdleSweep {
                connections.expireIdle(policy: policy, nowMs: now)
                nextIdleSweep = now + 250
            }
            if received < 0 { continue }  // EAGAIN (the timeout) or EINTR
            if received == SIGHUP {
                if let onReload { onReload() } else { options.log.info("signal_ignored", ["signal": "HUP"]) }
                continue
            }
            let signal = received == SIGTERM ? "TERM" : "INT"
            return .signal(signal, unfinished: stop(options, state: state, poller: poller, signal: signal))
        }
    }

    /// Stops accepting and waits for in-flight requests; returns how many did not finish.
    private static func stop(_ options: Options, state: ServerState, poller: Poller, signal: String) -> Int {
        options.log.info("stopping", ["signal": signal, "in_flight": String(state.inFlight.load(ordering: .relaxed))])
        state.stopping.store(true, ordering: .sequentiallyConsistent)
        FCGX_ShutdownPending()
        poller.remove(options.socket.fd)
        options.socket.shutdownAccepting()
        let deadline = MonotonicClock.nowMs() + Double(options.shutdownGraceSeconds) * 1000
        // Wait until no request has been in flight for a while: a worker parked on a kept
        // connection may still receive one that nginx sent before it saw us stop, and it closes
        // that connection after answering (see worker), so the quiet spell comes soon.
        var quietSince = MonotonicClock.nowMs()
        while MonotonicClock.nowMs() < deadline {
            let now = MonotonicClock.nowMs()
            if state.inFlight.load(ordering: .sequentiallyConsistent) > 0 {
                quietSince = now
            } else if now - quietSince >= 100 {
                break
            }
            MonotonicClock.sleep(ms: 10)
        }
        let unfinished = state.inFlight.load(ordering: .sequentiallyConsistent)
        if unfinished > 0 {
            options.log.warn("shutdown_grace_expired", ["in_flight": String(unfinished)])
        }
        options.socket.removeSocketFile()
        options.log.info("stopped")
        return unfinished
    }

    private static func worker(
        index: Int, options: Options, state: ServerState, poller: Poller, connections: ConnectionTable,
        makeResponder: ResponderFactory
    ) {
        let responder: (Request) -> Reply
        do {
            responder = try makeResponder()
        } catch {
            options.log.error("worker_setup_failed", ["index": String(index), "error": String(describing: error)])
            return state.workerReady(failure: "worker setup: \(error)")
        }
        guard
            var loop = EventLoop(
                index: index, options: options, state: state, poller: poller, connections: connections,
                responder: responder)
        else {
            options.log.error("worker_setup_failed", ["index": String(index), "error": "FCGX_InitRequest failed"])
            return state.workerReady(failure: "FCGX_InitRequest")
        }
        state.workerReady(failure: nil)
        loop.run()
    }
}

/// Counters shared between the workers and the start and shutdown sequences.
final class ServerState: Sendable {
    let stopping = Atomic<Bool>(false)
    let inFlight = Atomic<Int>(0)
    private let refusals = ThrottledReport(intervalMs: 10_000)
    private let startup = ConditionLock()
    /// Workers that finished setting up, and the first failure; guarded by `startup`.
    private nonisolated(unsafe) var ready = 0
    private nonisolated(unsafe) var failure: String?

    /// A worker finished its setup, well or not.
    func workerReady(failure: String?) {
        startup.withLock {
            ready += 1
            if self.failure == nil { self.failure = failure }
            startup.broadcast()
        }
    }

    /// Waits until `count` workers set up; returns the first failure.
    func awaitWorkers(_ count: Int) -> String? {
        startup.withLock {
            startup.wait { ready >= count }
            return failure
        }
    }

    /// A connection closed for what it sent (or did not send): worth a line, not one per packet.
    func reportRefusal(_ reason: String, log: Log) {
        guard let suppressed = refusals.occurrence(nowMs: MonotonicClock.nowMs()) else { return }
        log.warn("fastcgi_connection_refused", ["reason": reason, "since_last_report": String(suppressed)])
    }
}
