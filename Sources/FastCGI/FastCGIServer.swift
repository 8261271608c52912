import CFastCGI
import Glibc
import ResponderCore
import Synchronization

/// The FastCGI process: N worker threads accepting on one socket, and the main thread waiting
/// for SIGTERM/SIGINT to shut down gracefully.
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
    public typealias ResponderFactory = @Sendable () throws -> (Request) -> Response

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
    /// period and returns. Workers parked on idle kept connections are not joined: the caller
    /// ends the process.
    ///
    /// - Parameter onReload: called on SIGHUP, on the signal thread; nil ignores SIGHUP.
    public static func run(
        _ options: Options, onReload: (() -> Void)? = nil, makeResponder: @escaping ResponderFactory
    ) -> StopReason {
        // Block the stop signals in every thread (the workers inherit this mask) so that only
        // the sigwait below sees them and no worker's accept or curl call is interrupted.
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
        let state = ServerState()
        for index in 0..<options.threads {
            let started = WorkerThread.start {
                worker(index: index, options: options, state: state, makeResponder: makeResponder)
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

        while true {
            var received: Int32 = 0
            guard sigwait(&stopSignals, &received) == 0 else { continue }
            if received == SIGHUP {
                if let onReload { onReload() } else { options.log.info("signal_ignored", ["signal": "HUP"]) }
                continue
            }
            let signal = received == SIGTERM ? "TERM" : "INT"
            return .signal(signal, unfinished: stop(options, state: state, signal: signal))
        }
    }

    /// Stops accepting and waits for in-flight requests; returns how many did not finish.
    private static func stop(_ options: Options, state: ServerState, signal: String) -> Int {
        options.log.info("stopping", ["signal": signal, "in_flight": String(state.inFlight.load(ordering: .relaxed))])
        state.stopping.store(true, ordering: .sequentiallyConsistent)
        FCGX_ShutdownPending()
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

    private static func worker(index: Int, options: Options, state: ServerState, makeResponder: ResponderFactory) {
        let responder: (Request) -> Response
        do {
            responder = try makeResponder()
        } catch {
            options.log.error("worker_setup_failed", ["index": String(index), "error": String(describing: error)])
            return state.workerReady(failure: "worker setup: \(error)")
        }
        let gate = ConnectionGate(
            idleTimeoutSeconds: options.idleTimeoutSeconds, maxParamsBytes: options.maxParamsBytes, peers: options.peers,
            refusals: { state.reportRefusal($0, log: options.log) })
        // libfcgi never accepts here: the gate does (listen socket -1), and libfcgi reads a
        // connection only once a whole request head is waiting on it (docs/PITFALLS.md #24).
        var request = FCGX_Request()
        guard FCGX_InitRequest(&request, -1, 0) == 0 else {
            options.log.error("worker_setup_failed", ["index": String(index), "error": "FCGX_InitRequest failed"])
            return state.workerReady(failure: "FCGX_InitRequest")
        }
        state.workerReady(failure: nil)
        var connection: Int32 = -1
        var accepted = index  // staggers the workers' listen-queue samples
        while true {
            if connection < 0 {
                guard let fd = gate.accept(on: options.socket.fd) else {
                    if state.stopping.load(ordering: .sequentiallyConsistent) { return }
                    options.log.debug("accept_failed", ["error": String(cString: strerror(errno))])
                    MonotonicClock.sleep(ms: 10)  // EMFILE and the like: do not spin
                    continue
                }
                connection = fd
            }
            guard gate.awaitRequest(on: connection) == .ready else {
                connection = -1
                continue
            }
            // keepConnection first: FCGX_Accept_r begins by finishing the last request, which
            // would otherwise close the descriptor just handed over.
            request.keepConnection = 1
            request.ipcFd = connection
            connection = -1
            // On a protocol error libfcgi closes the connection itself and then fails to accept
            // on socket -1, so a failure here needs nothing more than going round again.
            guard FCGX_Accept_r(&request) == 0 else { continue }
            state.inFlight.add(1, ordering: .sequentiallyConsistent)
            accepted &+= 1
            // Connections waiting to be accepted mean too few workers; a sample every 16th
            // request keeps the extra syscall off most requests.
            if accepted % 16 == 0, let observe = options.observeListenQueue,
                let queued = options.socket.queuedConnections()
            {
                observe(queued)
            }
            if !FastCGIConnection.serve(&request, with: responder) {
                options.log.info("client_gone", ["detail": "the web server closed the connection before the answer was sent"])
            }
            if state.stopping.load(ordering: .sequentiallyConsistent) {
                request.keepConnection = 0  // close a kept connection so nginx sends nothing more here
            }
            FCGX_Finish_r(&request)
            // libfcgi left the connection open iff the web server asked to keep it.
            if request.ipcFd >= 0 {
                connection = request.ipcFd
                request.ipcFd = -1
            }
            state.inFlight.subtract(1, ordering: .sequentiallyConsistent)
        }
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
