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
        wait(connection, until: deadlineMs)
    }

    /// Parks the connection in epoll for its next request until `deadlineMs`. If epoll refuses,
    /// nothing would ever report it, so it is closed here.
    func wait(_ connection: Connection, until deadlineMs: Double) {
        let wasRegistered = connection.parkWaiting(deadlineMs: deadlineMs)
        if poller.arm(connection.fd, token: connection.token, added: wasRegistered) { return }
        log.error("poller_failed", ["error": String(cString: strerror(errno)), "detail": "connection"])
        // Never armed, so no worker receives it; the sweeper may be expiring it, though.
        while !connection.take(from: .waiting, to: .busy), connection.phase != .closing { sched_yield() }
        connections.close(connection)
    }
}
