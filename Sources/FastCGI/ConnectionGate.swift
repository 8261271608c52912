import CFastCGI
import Glibc
import ResponderCore

/// One worker's door between the listening socket and libfcgi. The worker accepts connections
/// itself (so that it sees the peer and can bound the wait for a request) and hands libfcgi a
/// connection only once a whole, acceptable request head waits in its receive queue: libfcgi
/// would otherwise block on it for ever, hold params without a bound, and act on management
/// records it cannot answer safely (`RequestHead`; docs/PITFALLS.md #3, #5, #6, #24).
final class ConnectionGate {
    /// What waiting for the next request on a connection came to.
    enum Outcome {
        /// A request head is ready for libfcgi on this descriptor.
        case ready
        /// The connection is gone: closed by the peer, idle too long, or refused (already logged).
        case closed
    }

    private let idleTimeoutMs: Int
    private let maxParamsBytes: Int
    private let peers: PeerFilter
    private let refusals: (String) -> Void
    /// Room for the largest head we accept: params, their record headers and padding, BEGIN.
    private var peeked: UnsafeMutableRawBufferPointer

    init(idleTimeoutSeconds: Int, maxParamsBytes: Int, peers: PeerFilter, refusals: @escaping (String) -> Void) {
        idleTimeoutMs = idleTimeoutSeconds * 1000
        self.maxParamsBytes = maxParamsBytes
        self.peers = peers
        self.refusals = refusals
        peeked = .allocate(byteCount: Self.peekCapacity(maxParamsBytes: maxParamsBytes), alignment: 8)
    }

    deinit {
        peeked.deallocate()
    }

    /// Record framing around params of `maxParamsBytes`: a header and up to 255 bytes of padding
    /// per 64 KiB record, plus BEGIN_REQUEST and the empty record that ends the params.
    static func peekCapacity(maxParamsBytes: Int) -> Int {
        maxParamsBytes + (maxParamsBytes / 65_535 + 4) * (RequestHead.headerLength + 255) + 64
    }

    /// Accepts the next connection from an allowed peer; nil when accept fails (the socket was
    /// shut down for a stop, or descriptors ran out).
    func accept(on listener: Int32) -> Int32? {
        while true {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    cfastcgi_accept(listener, $0, &length)
                }
            }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return nil
            }
            guard peers.allows(peer) else {
                refusals("peer not in FCGI_WEB_SERVER_ADDRS")
                close(fd)
                continue
            }
            guard configure(fd, tcp: Int32(peer.ss_family) != AF_UNIX) else {
                refusals("cannot set socket options: \(String(cString: strerror(errno)))")
                close(fd)
                continue
            }
            return fd
        }
    }

    /// Bounds libfcgi's own reads and writes on the connection (a body that stops arriving, a
    /// peer that stops reading) by the idle timeout; no Nagle delay on our one-write answers.
    private func configure(_ fd: Int32, tcp: Bool) -> Bool {
        var timeout = timeval(tv_sec: idleTimeoutMs / 1000, tv_usec: 0)
        let size = socklen_t(MemoryLayout<timeval>.size)
        guard setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, size) == 0,
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, size) == 0
        else { return false }
        if tcp {
            var on: Int32 = 1
            return setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
        }
        return true
    }

    /// Waits until a whole request head is in `fd`'s receive queue, at most the idle timeout.
    /// Closes the connection (answering FCGI_UNKNOWN_ROLE first where that is due) unless ready.
    func awaitRequest(on fd: Int32) -> Outcome {
        let deadline = MonotonicClock.nowMs() + Double(idleTimeoutMs)
        var pauseMs = 1
        // Poll first: on a kept connection the next request is rarely there yet when the last
        // answer has just gone out, and a peek that finds nothing would be one syscall more.
        var mustWait = true
        while true {
            if mustWait {
                let remaining = Int32(max(0, deadline - MonotonicClock.nowMs()))
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&entry, 1, remaining)
                if ready == 0 { return drop(fd, discarding: 0) }  // idle: no request in time
                if ready < 0 {
                    if errno == EINTR { continue }
                    return drop(fd, discarding: 0)
                }
            }
            let count = recv(fd, peeked.baseAddress, peeked.count, Int32(MSG_PEEK | MSG_DONTWAIT))
            if count == 0 { return drop(fd, discarding: 0) }
            if count < 0 {
                guard errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK else { return drop(fd, discarding: 0) }
                mustWait = errno != EINTR
                continue
            }
            mustWait = false
            let waiting = UnsafeRawBufferPointer(rebasing: peeked[0..<count])
            switch RequestHead.scan(waiting, maxParamsBytes: maxParamsBytes) {
            case .ready:
                return .ready
            case .refused(let reason):
                refusals(reason)
                return drop(fd, discarding: count)
            case .unknownRole(let requestId):
                refusals("role other than responder")
                Self.answerUnknownRole(fd, requestId: requestId)
                return drop(fd, discarding: count)
            case .incomplete:
                guard count < peeked.count else {
                    refusals("request head over \(peeked.count) bytes")
                    return drop(fd, discarding: count)
                }
                // Part of a head: poll would report the same bytes again at once, so pause
                // (briefly, then longer) for the rest. Web servers send a head in one write.
                let now = MonotonicClock.nowMs()
                if now >= deadline { return drop(fd, discarding: count) }
                MonotonicClock.sleep(ms: Double(min(pauseMs, Int(deadline - now) + 1)))
                pauseMs = min(pauseMs * 2, 50)
            }
        }
    }

    /// Reads and discards what was peeked (closing with unread bytes would reset the connection
    /// before a last answer arrives), then closes.
    private func drop(_ fd: Int32, discarding count: Int) -> Outcome {
        if count > 0 { _ = recv(fd, peeked.baseAddress, count, Int32(MSG_DONTWAIT)) }
        close(fd)
        return .closed
    }

    /// FCGI_END_REQUEST with protocolStatus FCGI_UNKNOWN_ROLE (specification §5.5).
    private static func answerUnknownRole(_ fd: Int32, requestId: UInt16) {
        let record: [UInt8] = [
            1, 3, UInt8(requestId >> 8), UInt8(requestId & 0xFF), 0, 8, 0, 0,  // header: END_REQUEST, 8 bytes
            0, 0, 0, 0, 3, 0, 0, 0,  // appStatus 0, protocolStatus FCGI_UNKNOWN_ROLE
        ]
        _ = record.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
