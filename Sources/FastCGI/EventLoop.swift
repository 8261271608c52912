import CFastCGI
import Glibc
import ResponderCore

/// One worker: takes the next readiness report from the shared `Poller` and serves it inline.
/// A connection costs a thread only while a request on it is judged or answered; between
/// requests it is a descriptor armed in epoll, and whichever worker is free takes its next
/// request (no hand-off between threads: docs/PITFALLS.md #24).
struct EventLoop {
    let options: FastCGIServer.Options
    let state: ServerState
    let poller: Poller
    let connections: ConnectionTable
    let policy: ConnectionPolicy
    let keeper: ConnectionKeeper
    let gate: ConnectionGate
    let responder: (Request) -> Reply

    /// The libfcgi request this worker reads into next. A request answered later keeps its
    /// `FCGX_Request` until then, and the worker takes a fresh one.
    private var request: UnsafeMutablePointer<FCGX_Request>
    private var served: Int

    /// Sets up libfcgi's request; nil when it cannot.
    init?(
        index: Int, options: FastCGIServer.Options, state: ServerState, poller: Poller, connections: ConnectionTable,
        responder: @escaping (Request) -> Reply
    ) {
        (self.options, self.state, self.poller, self.connections) = (options, state, poller, connections)
        self.responder = responder
        policy = options.connectionPolicy
        keeper = ConnectionKeeper(poller: poller, connections: connections, policy: policy, state: state, log: options.log)
        gate = ConnectionGate(
            idleTimeoutSeconds: options.idleTimeoutSeconds, maxParamsBytes: options.maxParamsBytes, peers: options.peers,
            refusals: { state.reportRefusal($0, log: options.log) })
        served = index  // staggers the workers' listen-queue samples
        guard let request = Self.makeRequest() else { return nil }
        self.request = request
    }

    /// A libfcgi request that never accepts by itself (listen socket -1): the gate accepts, and
    /// libfcgi reads a connection only once a whole request head waits on it (docs/PITFALLS.md #24).
    private static func makeRequest() -> UnsafeMutablePointer<FCGX_Request>? {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        request.initialize(to: FCGX_Request())
        guard FCGX_InitRequest(request, -1, 0) == 0 else {
            request.deallocate()
            return nil
        }
        return request
    }

    /// Serves readiness reports for as long as the process lives.
    mutating func run() -> Never {
        while true {
            guard let token = poller.next() else { continue }
            if token == Poller.listenerToken {
                acceptOne()
                continue
            }
            let connection = Connection.from(token: token)
            switch connection.claim() {
            case .serve: attend(connection)
            case .close: connections.close(connection)
            case .ignore: break
            }
        }
    }

    /// Accepts one connection, re-arms the listener for the next worker, then judges the new
    /// connection here: web servers send the request right after connecting, so it usually waits.
    private mutating func acceptOne() {
        let accepted = gate.accept(on: options.socket.fd)
        if case .failed(let error) = accepted {
            if state.stopping.load(ordering: .sequentiallyConsistent) { return }  // the listener stays disarmed
            options.log.debug("accept_failed", ["error": String(cString: strerror(error))])
            MonotonicClock.sleep(ms: 10)  // EMFILE and the like: do not spin on a listener that stays readable
        }
        rearmListener()
        guard case .connection(let fd) = accepted else { return }
        let connection = Connection(fd: fd)
        connections.insert(connection)
        connection.park(.busy, deadlineMs: policy.opened(nowMs: MonotonicClock.nowMs()))
        attend(connection)
    }

    /// Arms the listener for the next accept. Until that succeeds no worker accepts, so a
    /// refusal (ENOMEM) is retried, more slowly each time, rather than left to stop the service.
    private func rearmListener() {
        var pauseMs = 1.0
        while !state.stopping.load(ordering: .sequentiallyConsistent) {
            if poller.arm(options.socket.fd, token: Poller.listenerToken, added: true) { return }
            options.log.error("poller_failed", ["error": String(cString: strerror(errno)), "detail": "listener; retrying"])
            MonotonicClock.sleep(ms: pauseMs)
            pauseMs = min(pauseMs * 2, 1000)
        }
    }

    /// Takes a connection this worker owns to its next step: served, parked, or closed.
    private mutating func attend(_ connection: Connection) {
        let step = policy.afterPeek(
            gate.peek(connection.fd), nowMs: MonotonicClock.nowMs(), deadlineMs: connection.deadlineMs,
            rechecks: connection.rechecks)
        switch step {
        case .serve:
            connection.rechecks = 0
            serve(connection)
        case .wait(let deadlineMs):
            keeper.wait(connection, until: deadlineMs)
        case .recheck(let atMs, let deadlineMs):
            connection.rechecks += 1
            connection.park(.partial, deadlineMs: deadlineMs, recheckAtMs: atMs)
            connections.addPartial(connection)
        case .close(let discard, let refusal, let unknownRole):
            if let refusal { state.reportRefusal(refusal, log: options.log) }
            if let unknownRole { ConnectionGate.answerUnknownRole(connection.fd, requestId: unknownRole) }
            connections.close(connection, discard: discard)
        }
    }

    /// Lets libfcgi read the request waiting on the connection and answers it, now or later.
    private mutating func serve(_ connection: Connection) {
        // keepConnection first: FCGX_Accept_r begins by finishing the last request, which
        // would otherwise close the descriptor just handed over.
        request.pointee.keepConnection = 1
        request.pointee.ipcFd = connection.fd
        // On a protocol error libfcgi closes the connection itself and then fails to accept
        // on socket -1.
        guard FCGX_Accept_r(request) == 0 else { return connections.remove(connection) }
        state.inFlight.add(1, ordering: .sequentiallyConsistent)
        served &+= 1
        // Connections waiting to be accepted mean too few workers; a sample every 16th
        // request keeps the extra syscall off most requests.
        if served % 16 == 0, let observe = options.observeListenQueue, let queued = options.socket.queuedConnections() {
            observe(queued)
        }
        let plain = FastCGIConnection.read(request)
        let (method, log, keeper, state) = (plain.method, options.log, keeper, state)
        switch responder(plain) {
        case .now(let response):
            Self.finish(request, with: response, method: method, connection: connection, free: false, log, keeper, state)
        case .later(let deferral):
            // The answer comes on another thread; this worker goes on with a fresh request.
            guard let fresh = Self.makeRequest() else {
                // FCGX_InitRequest only fills in fields, so this does not happen; if it did,
                // waiting for the answer here would still answer it.
                return Self.finish(request, with: deferral.wait(), method: method, connection: connection, free: false, log, keeper, state)
            }
            let parked = ParkedRequest(request)
            request = fresh
            deferral.attach { response in
                Self.finish(parked.request, with: response, method: method, connection: connection, free: true, log, keeper, state)
            }
        }
    }

    /// Writes the answer, finishes the libfcgi request (freeing a parked one) and hands the
    /// connection on; runs on the worker or on the thread that completed a parked answer.
    private static func finish(
        _ request: UnsafeMutablePointer<FCGX_Request>, with response: Response, method: String, connection: Connection,
        free: Bool, _ log: Log, _ keeper: ConnectionKeeper, _ state: ServerState
    ) {
        let after = FastCGIConnection.answer(request, with: response, method: method, log: log)
        if free { request.deallocate() }
        state.inFlight.subtract(1, ordering: .sequentiallyConsistent)
        keeper.answered(connection, after)
    }
}

/// A libfcgi request waiting for its answer on another thread: only that thread touches it.
private struct ParkedRequest: @unchecked Sendable {
    let request: UnsafeMutablePointer<FCGX_Request>
    init(_ request: UnsafeMutablePointer<FCGX_Request>) { self.request = request }
}
