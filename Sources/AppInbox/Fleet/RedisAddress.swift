import Glibc

/// A Redis host name resolved off the exchange loop: hiredis resolves inside `redisAsyncConnect`
/// with a blocking getaddrinfo(3), which on the loop's thread would stop every exchange while DNS
/// is slow. A numeric address needs no lookup and is connected to at once.
enum RedisAddress {
    /// Whether `host` is an IPv4 or IPv6 address rather than a name.
    static func isNumeric(_ host: String) -> Bool {
        var buffer = in6_addr()
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }

    /// Resolves `host` on a thread of its own; `done` gets its first address, or why there is none.
    static func resolve(_ host: String, done: @escaping @Sendable (Result<String, RedisLookupError>) -> Void) {
        let started = DetachedThread.start {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var found: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, nil, &hints, &found)
            guard status == 0, let first = found else {
                return done(.failure(RedisLookupError(detail: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")))
            }
            defer { freeaddrinfo(found) }
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let named = getnameinfo(first.pointee.ai_addr, first.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST)
            guard named == 0 else {
                return done(.failure(RedisLookupError(detail: "getnameinfo: \(String(cString: gai_strerror(named)))")))
            }
            done(.success(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        if !started { done(.failure(RedisLookupError(detail: "no thread for the lookup of \(host)"))) }
    }
}

/// Why a Redis host name did not resolve.
struct RedisLookupError: Error {
    let detail: String
}
