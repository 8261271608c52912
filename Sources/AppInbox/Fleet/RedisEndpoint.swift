/// Where the fleet's Redis is, from `APP_INBOX_REDIS_URL`: `redis://[[user]:password@]host[:port][/db]`
/// or `unix://[[user]:password@]/path/to/redis.sock[?db=N]` (the schemes of redis-cli and
/// most clients). `rediss://` is refused: Debian 12's hiredis (0.14) has no TLS. Over a network
/// that needs encryption, reach Redis through a TLS tunnel (stunnel, spiped) on loopback.
public struct RedisEndpoint: Sendable, Equatable {
    /// Where to connect.
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    /// The ACL user (Redis 6 and later) for `AUTH user password`; nil for `AUTH password`.
    public var user: String?
    public var password: String?
    /// The database `SELECT`ed after connecting.
    public var database = 0

    /// Parses a URL; the reason it is refused otherwise, for the configuration error.
    public static func parse(_ url: String) -> Result<RedisEndpoint, RedisURLError> {
        if url.hasPrefix("rediss://") {
            return .failure(
                .init(
                    "rediss:// (TLS) is not supported: the hiredis of Debian 12 (0.14) has no TLS; use redis:// over loopback or a unix socket, or a TLS tunnel"
                ))
        }
        let unix = url.hasPrefix("unix://")
        guard unix || url.hasPrefix("redis://") else {
            return .failure(.init("must start with redis:// or unix://"))
        }
        guard !url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            return .failure(.init("must not contain spaces or control characters"))
        }
        var rest = Substring(url.dropFirst(unix ? "unix://".count : "redis://".count))
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var endpoint = RedisEndpoint(address: .unix(path: ""))
        // The last @: a password may contain @ (percent-encoding it is not required by redis-cli).
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let colon = credentials.firstIndex(of: ":")
            let user = colon.map { credentials[..<$0] } ?? credentials
            endpoint.user = user.isEmpty ? nil : String(user)
            endpoint.password = colon.map { String(credentials[credentials.index(after: $0)...]) }
            if endpoint.password == nil {
                // redis://secret@host: redis-cli reads a lone userinfo as the password.
                (endpoint.user, endpoint.password) = (nil, String(user))
            }
        }
        for parameter in query.split(separator: "&") {
            guard parameter.hasPrefix("db="), let database = Int(parameter.dropFirst(3)), (0...1_000_000).contains(database) else {
                return .failure(.init("the only query parameter understood is db=N"))
            }
            endpoint.database = database
        }
        if unix {
            guard rest.hasPrefix("/"), rest.count > 1 else {
                return .failure(.init("unix:// must name an absolute socket path, such as unix:///run/redis/redis.sock"))
            }
            endpoint.address = .unix(path: String(rest))
            return .success(endpoint)
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let database = Int(path), (0...1_000_000).contains(database) else {
                    return .failure(.init("the path must be a database number, such as /0"))
                }
                endpoint.database = database
            }
        }
        var host = hostPort
        var port = 6379
        if hostPort.hasPrefix("[") {  // [IPv6]:port
            guard let close = hostPort.firstIndex(of: "]") else { return .failure(.init("an IPv6 host needs its closing ]")) }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = Int(after.dropFirst()) else { return .failure(.init("bad port")) }
                port = parsed
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            guard let parsed = Int(hostPort[hostPort.index(after: colon)...]) else { return .failure(.init("bad port")) }
            port = parsed
        }
        guard !host.isEmpty else { return .failure(.init("names no host")) }
        guard (1...65535).contains(port) else { return .failure(.init("the port must be 1 to 65535")) }
        endpoint.address = .tcp(host: String(host), port: port)
        return .success(endpoint)
    }

    /// The URL without its password, for logs and `check-config`.
    public var displayed: String {
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        switch address {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(credentials)\(shownHost):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(credentials)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }
}

/// Why an `APP_INBOX_REDIS_URL` was refused.
public struct RedisURLError: Error, Sendable, Equatable {
    public let message: String

    init(_ message: String) {
        self.message = message
    }
}
