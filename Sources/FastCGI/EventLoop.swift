import CFastCGI
import Glibc
import ResponderCore

/// One worker: takes the next readiness report from the shared `Poller` and serves it inline.
/// A connection costs a thread only while a request on it is judged or answered; between
/// requests it is a descriptor armed in epoll, and whichever worker is free takes its next
/// request (no hand-off between threads: docs/PITFALLS.md #24).
struct EventLoop {
    let index: Int
    let options: FastCGIServer.Options
    let state: ServerState
    let poller: Poller
    let connections: ConnectionTable
    let policy: ConnectionPolicy
    let gate: ConnectionGate
    let responder: (Request) -> Response

    /// libfcgi never accepts here: the gate does (listen socket -1), and libfcgi reads a
    /// connection only once a whole request head waits on it (docs/PITFALLS.md #24).
    private var request = FCGX_Request()
    private var served: Int

    /// Sets up libfcgi's request; nil when it cannot.
    init?(
        index: Int, options: FastCGIServer.Options, state: ServerState, poller: Poller, connections: ConnectionTable,
        responder: @escaping (Request) -> Response
    ) {
        (self.index, self.options, self.state, self.poller, self.connections) = (index, options, state, poller, connections)
        self.responder = responder
        policy = ConnectionPolicy(idleTimeoutMs: Double(options.idleTimeoutSeconds) * 1000)
        gate = ConnectionGate(
            idleTimeoutSeconds: options.idleTimeoutSeconds, maxParamsBytes: options.maxParamsBytes, peers: options.peers,
            refusals: { state.reportRefusal($0, log: options.log) })
        served = index  // staggers the workers' listen-queue samples
        guard FCGX_InitRequest(&request, -1, 0) == 0 else { return nil }
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
        if !state.stopping.load(ordering: .sequentiallyConsistent),
            !poller.arm(options.socket.fd, token: Poller.listenerToken, added: true)
        {
            options.log.error("poller_failed", ["error": String(cString: strerror(errno)), "detail": "listener"])
        }
        guard case .connection(let fd) = accepted else { return }
        let connection = Connection(fd: fd)
        connections.insert(connection)
        connection.park(.busy, deadlineMs: policy.opened(nowMs: MonotonicClock.nowMs()))
        attend(connection)
    }

    /// Takes a connection this worker owns to its next step: served, parked, or closed.
    private mutating func attend(_ connection: Connection) {
        var step = policy.afterPeek(
            gate.peek(connection.fd), nowMs: MonotonicClock.nowMs(), deadlineMs: connection.deadlineMs,
            rechecks: connection.rechecks)
        while true {
            switch step {
            case .serve:
                connection.rechecks = 0
                guard let kept = serve(connection) else { return }
                step = policy.afterAnswer(
                    kept: kept, stopping: state.stopping.load(ordering: .sequentiallyConsistent),
                    nowMs: MonotonicClock.nowMs())
                if case .close = step, kept {
                    connections.close(connection)
                    return
                }
                if !kept {
                    connections.remove(connection)  // libfcgi closed it
                    return
                }
            case .wait(let deadlineMs):
                connection.park(.waiting, deadlineMs: deadlineMs)
                return arm(connection)
            case .recheck(let atMs, let deadlineMs):
                connection.rechecks += 1
                connection.park(.partial, deadlineMs: deadlineMs, recheckAtMs: atMs)
                return connections.addPartial(connection)
            case .close(let discard, let refusal, let unknownRole):
                if let refusal { state.reportRefusal(refusal, log: options.log) }
                if let unknownRole { ConnectionGate.answerUnknownRole(connection.fd, requestId: unknownRole) }
                return connections.close(connection, discard: discard)
            }
        }
    }

    /// Arms a waiting connection for its next request. If epoll refuses, nothing would ever
    /// report it, so it is closed here.
    private func arm(_ connection: Connection) {
        let wasRegistered = connection.registered
        connection.registered = true
        if poller.arm(connection.fd, token: connection.token, added: wasRegistered) { return }
        options.log.error("poller_failed", ["error": String(cString: strerror(errno)), "detail": "connection"])
        // Never armed, so no worker receives it; the sweeper may be expiring it, though.
        while !connection.take(from: .waiting, to: .busy), connection.phase != .closing { sched_yield() }
        connections.close(connection)
    }

    /// Lets libfcgi read and answer the request waiting on the connection. Returns whether
    /// libfcgi kept the connection open, or nil when it closed it on a protocol error.
    private mutating func serve(_ connection: Connection) -> Bool? {
        // keepConnection first: FCGX_Accept_r begins by finishing the last request, which
        // would otherwise close the descriptor just handed over.
        request.keepConnection = 1
        request.ipcFd = connection.fd
        // On a protocol error libfcgi closes the connection itself and then fails to accept
        // on socket -1.
        guard FCGX_Accept_r(&request) == 0 else {
            connections.remove(connection)
            return nil
        }
        state.inFlight.add(1, ordering: .sequentiallyConsistent)
        defer { state.inFlight.subtract(1, ordering: .sequentiallyConsistent) }
        served &+= 1
        // Connections waiting to be accepted mean too few workers; a sample every 16th
        // request keeps the extra syscall off most requests.
        if served % 16 == 0, let observe = options.observeListenQueue, let queued = options.socket.queuedConnections() {
            observe(queued)
        }
        if !FastCGIConnection.serve(&request, with: responder) {
            options.log.info("client_gone", ["detail": "the web server closed the connection before the answer was sent"])
        }
        FCGX_Finish_r(&request)
        // libfcgi left the connection open iff the web server asked to keep it (PITFALLS #24c).
        guard request.ipcFd >= 0 else { return false }
        request.ipcFd = -1
        return true
    }
}
