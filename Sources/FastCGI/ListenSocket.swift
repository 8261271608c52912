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

    /// Binds and listens on `address`; a `unix:` socket gets permission bits `mode`.
    public init(binding address: ListenAddress, mode: UInt32, backlog: Int32 = 1024) throws(Failure) {
        owned = true
        switch address {
        case .tcp(let host, let port):
            fd = try Self.bindTCP(host: host, port: port, backlog: backlog, label: address.description)
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

    private static func bindTCP(host: String, port: UInt16, backlog: Int32, label: String) throws(Failure) -> Int32 {
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
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() for \(label): \(errnoText())") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let text = errnoText()
            close(fd)
            throw Failure(description: "cannot bind \(label): \(text)")
        }
        guard listen(fd, backlog) == 0 else {
            let text = errnoText()
            close(fd)
            throw Failure(description: "cannot listen on \(label): \(text)")
        }
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
        guard bound == 0 else {
            let text = errnoText()
            close(fd)
            throw Failure(description: "cannot bind unix:\(path): \(text)")
        }
        // chmod after bind: the web server's user must be able to connect (umask would decide otherwise).
        guard chmod(path, mode_t(mode)) == 0, listen(fd, backlog) == 0 else {
            let text = errnoText()
            close(fd)
            unlink(path)
            throw Failure(description: "cannot listen on unix:\(path): \(text)")
        }
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
