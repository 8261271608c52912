import CFastCGI
import Glibc
import ResponderCore

/// One worker's door between the listening socket and libfcgi. The worker accepts connections
/// itself (so that it sees the peer and can bound the wait for a request) and hands libfcgi a
/// connection only once a whole, acceptable request head waits in its receive queue: libfcgi
/// would otherwise block on it for ever, hold params without a bound, and act on management
/// records it cannot answer safely (`RequestHead`; docs/PITFALLS.md #3, #5, #6, #24).
final class ConnectionGate {
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

    /// What one accept on the (non-blocking) listening socket brought.
    enum Accepted {
        case connection(Int32)
        /// Nobody waits (another worker took the connection), or a refused peer was closed.
        case none
        /// accept failed with this errno: the socket was shut down for a stop, or descriptors ran out.
        case failed(Int32)
    }

    /// Accepts one connection, if one waits and its peer is allowed.
    func accept(on listener: Int32) -> Accepted {
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                cfastcgi_accept(listener, $0, &length)
            }
        }
        if fd < 0 {
            switch errno {
            case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED: return .none
            case let failure: return .failed(failure)
            }
        }
        guard peers.allows(peer) else {
            refusals("peer not in FCGI_WEB_SERVER_ADDRS")
            close(fd)
            return .none
        }
        guard configure(fd, tcp: Int32(peer.ss_family) != AF_UNIX) else {
            refusals("cannot set socket options: \(String(cString: strerror(errno)))")
            close(fd)
            return .none
        }
        return .connection(fd)
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

    /// Looks at what waits in `fd`'s receive queue without taking it or blocking.
    func peek(_ fd: Int32) -> ConnectionPolicy.Peek {
        while true {
            let count = recv(fd, peeked.baseAddress, peeked.count, Int32(MSG_PEEK | MSG_DONTWAIT))
            if count > 0 {
                let waiting = UnsafeRawBufferPointer(rebasing: peeked[0..<count])
                let verdict = RequestHead.scan(waiting, maxParamsBytes: maxParamsBytes)
                return .bytes(verdict, count: count, windowFull: count == peeked.count)
            }
            if count == 0 { return .gone }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .nothing
            default: return .gone
            }
        }
    }

    /// FCGI_END_REQUEST with protocolStatus FCGI_UNKNOWN_ROLE (specification §5.5).
    static func answerUnknownRole(_ fd: Int32, requestId: UInt16) {
        let record: [UInt8] = [
            1, 3, UInt8(requestId >> 8), UInt8(requestId & 0xFF), 0, 8, 0, 0,  // header: END_REQUEST, 8 bytes
            0, 0, 0, 0, 3, 0, 0, 0,  // appStatus 0, protocolStatus FCGI_UNKNOWN_ROLE
        ]
        _ = record.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
