import Glibc
import ResponderCore

/// What every thread that finishes with a connection does next, whether a worker that answered
/// at once or the thread that completed a parked answer: arm it for its next request, or close
/// it, as `ConnectionPolicy` says.
struct ConnectionKeeper: Sendable {
    let poller: Poller
    let connections: ConnectionTable
    let policy: ConnectionPolicy
    let state: ServerState
    let log: Log

    /// After an answer, as `FastCGIConnection.answer` left the connection.
    func answered(_ connection: Connection, _ after: FastCGIConnection.AfterAnswer) {
        if after == .gone { return connections.remove(connection) }  // libfcgi closed it
        let step = policy.afterAnswer(
            kept: after == .kept, stopping: state.stopping.load(ordering: .sequentiallyConsistent),
            nowMs: MonotonicClock.nowMs())
        guard case .wait(let deadlineMs) = step else { return connections.close(connection) }
        connection.park(.waiting, deadlineMs: deadlineMs)
        arm(connection)
    }

    /// Arms a waiting connection for its next request. If epoll refuses, nothing would ever
    /// report it, so it is closed here.
    func arm(_ connection: Connection) {
        let wasRegistered = connection.registered
        connection.registered = true
        if poller.arm(connection.fd, token: connection.token, added: wasRegistered) { return }
        log.error("poller_failed", ["error": String(cString: strerror(errno)), "detail": "connection"])
        // Never armed, so no worker receives it; the sweeper may be expiring it, though.
        while !connection.take(from: .waiting, to: .busy), connection.phase != .closing { sched_yield() }
        connections.close(connection)
    }
}
