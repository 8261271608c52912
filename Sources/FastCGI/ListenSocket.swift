import CFastCGI
import Glibc

/// A listening socket that we bound ourselves: `FCGX_OpenSocket` is IPv4-only and calls
/// `exit()` when bind fails, which would leave the operator without a clear message.
public struct ListenSocket: Sendable {
    /// The listening file descriptor, handed to `FCGX_InitRequest`.
    public let fd: Int32
    /// The unix socket's path, removed on exit; nil for TCP and inherited sockets.
    public let unixPath: String?

    /// A failure to listen, phrased for the operator.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong, naming the address.
        public let description: String
    }

    /// Wraps a socket inherited from the process that started us (spawn-fcgi, mod_fcgid, systemd).
    public init(inheritedFd fd: Int32) {
        self.fd = fd
        unixPath = nil
        owned = false
    }

    /// Binds and listens on `address`; a `unix:` socket gets permission bits `mode`. A TCP
    /// address other than loopback is refused unless `allowRemote`: the responder believes the
    /// identity any peer passes, so the FastCGI socket must not be open to a network.
    public init(
        binding address: ListenAddress, mode: UInt32, allowRemote: Bool = false, backlog: Int32 = 1024
    )
        throws(Failure)
    {
        owned = true
        switch address {
        case .tcp(let host, let port):
            fd = try Self.bindTCP(
                host: host, port: port, backlog: backlog, label: address.description, allowRemote: allowRemote)
            unixPath = nil
        case .unix(let path):
            fd = try Self.bindUnix(path: path, mode: mode, backlog: backlog)
            unixPath = path
        }
    }

    /// Whether this process bound the socket (and so may shut it down).
    public let owned: Bool

    /// Stops new connections on a socket we bound: wakes every thread blocked in `accept`.
    /// An inherited socket is left alone: systemd or the spawner keeps using it after we exit.
    public func shutdownAccepting() {
        if owned { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Connections waiting in the accept queue of a TCP listening socket (Linux `TCP_INFO`
    /// reports it as `tcpi_unacked` for sockets in LISTEN); nil for unix sockets.
    public func queuedConnections() -> Int? {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return nil }
        return Int(info.tcpi_unacked)
    }

    /// Raises a TCP socket's receive buffer (accepted connections inherit it) to hold `bytes`
    /// unread: a request head waits there whole before libfcgi reads it (`ConnectionGate`).
    /// Unix sockets queue by the sender's buffer, and a failure leaves the default: best effort.
    public func reserveReceiveBuffer(_ bytes: Int) {
        var current: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &current, &length) == 0, Int(current) < 2 * bytes else { return }
        // Linux doubles the value set, and keeps about half of the buffer for payload.
        var wanted = Int32(clamping: 2 * bytes)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Makes accept return EAGAIN rather than block when another worker took the connection.
    public func makeNonBlocking() -> Bool {
        let flags = fcntl(fd, F_GETFL)
        return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0
    }

    /// Removes the unix socket file, if we created one.
    public func removeSocketFile() {
        if let unixPath { unlink(unixPath) }
    }

    /// Whether fd 0 is a listening socket, as spawn-fcgi, mod_fcgid and systemd's
    /// `StandardInput=socket` pass it. (`FCGX_IsCGI` only checks for any socket.)
    public static func isListeningSocket(_ fd: Int32) -> Bool {
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFSOCK else { return false }
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting == 1
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Throws `what: strerror(errno)` when a call returned non-zero, closing the half-made socket
    /// (and removing its file) first, so that no failure path leaks a descriptor.
    private static func check(
        _ result: Int32, _ what: @autoclosure () -> String, closing fd: Int32, unlinking path: String? = nil
    )
        throws(Failure)
    {
        guard result != 0 else { return }
        let text = errnoText()
        close(fd)
        if let path { unlink(path) }
        throw Failure(description: "\(what()): \(text)")
    }

    /// Whether the socket is bound to a TCP address other than loopback (inherited sockets are
    /// checked with this, for a warning).
    public var isRemoteTCP: Bool {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return false }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Self.isRemote($0) }
        }
    }

    /// Whether an IPv4 or IPv6 address lies outside the loopback range (127.0.0.0/8, ::1, and
    /// 127.x mapped into IPv6); unix addresses are local.
    static func isRemote(_ address: UnsafePointer<sockaddr>) -> Bool {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            return UInt32(bigEndian: ipv4) >> 24 != 127
        case AF_INET6:
            let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) }
            }
            let loopback6 = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
            let mappedLoopback = ipv4Mapped(bytes)?.first == 127
            return !loopback6 && !mappedLoopback
        default:
            return false
        }
    }

    private static func bindTCP(
        host: String, port: UInt16, backlog: Int32, label: String, allowRemote: Bool
    )
        throws(Failure) -> Int32
    {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &results)
        guard status == 0, let first = results else {
            throw Failure(description: "cannot resolve \(label): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(results) }
        if !allowRemote, let address = first.pointee.ai_addr, isRemote(address) {
            throw Failure(
                description: "refusing to listen on \(label): it is not a loopback address, and every peer of the "
                    + "FastCGI socket can name any user; listen on unix:/path or 127.0.0.1, or set "
                    + "APP_INBOX_ALLOW_REMOTE_LISTEN=1 (with FCGI_WEB_SERVER_ADDRS and a firewall)")
        }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() for \(label): \(errnoText())") }
        var on: Int32 = 1
        try check(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)), "SO_REUSEADDR on \(label)", closing: fd)
        try check(bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen), "cannot bind \(label)", closing: fd)
        try check(listen(fd, backlog), "cannot listen on \(label)", closing: fd)
        return fd
    }

    private static func bindUnix(path: String, mode: UInt32, backlog: Int32) throws(Failure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw Failure(description: "unix socket path is longer than \(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: path.utf8)
        }
        try removeStaleSocket(path: path, address: address)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() for unix:\(path): \(errnoText())") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try check(bound, "cannot bind unix:\(path)", closing: fd)
        // chmod after bind: the web server's user must be able to connect (umask would decide otherwise).
        try check(chmod(path, mode_t(mode)), "cannot chmod unix:\(path)", closing: fd, unlinking: path)
        try check(listen(fd, backlog), "cannot listen on unix:\(path)", closing: fd, unlinking: path)
        return fd
    }

    /// A socket file left by a crashed process blocks bind; remove it only if nobody answers on it.
    private static func removeStaleSocket(path: String, address: sockaddr_un) throws(Failure) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw Failure(description: "unix:\(path) exists and is not a socket")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var copy = address
        let connected = withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 {
            throw Failure(description: "unix:\(path) is in use by a running process")
        }
        unlink(path)
    }
}
