import CFastCGI
import Glibc

/// One epoll instance shared by every worker. Each registration is one-shot: readiness goes to
/// exactly one waiting worker and disarms the descriptor until that worker (or the sweeper)
/// re-arms it, so two threads never serve one connection (epoll(7), EPOLLONESHOT).
struct Poller: Sendable {
    let fd: Int32
    /// The user data that marks the listening socket's readiness (connections carry a pointer).
    static let listenerToken: UInt64 = 0

    /// Creates the epoll instance; nil (errno set) when the system refuses one.
    init?() {
        fd = cfastcgi_epoll_create()
        if fd < 0 { return nil }
    }

    /// Arms `descriptor` for one readiness report carrying `token`; `added` says whether it is
    /// registered already (modify) or not (add). False (errno set) when epoll refuses.
    func arm(_ descriptor: Int32, token: UInt64, added: Bool) -> Bool {
        cfastcgi_epoll_arm(fd, descriptor, token, added ? 1 : 0) == 0
    }

    /// Stops reporting `descriptor` (the listener, when the server stops).
    func remove(_ descriptor: Int32) {
        // ENOENT or EBADF: already gone, which is what was asked.
        _ = cfastcgi_epoll_remove(fd, descriptor)
    }

    /// Waits for one readiness report (one at a time, so a busy worker never sits on readiness
    /// another could serve); nil on EINTR.
    func next() -> UInt64? {
        var token: UInt64 = 0
        return cfastcgi_epoll_next(fd, &token) == 1 ? token : nil
    }
}
