import Glibc

/// The web servers allowed to connect over TCP, from `FCGI_WEB_SERVER_ADDRS` (a comma-separated
/// list of addresses), as libfcgi reads it; ours also takes IPv6 addresses. Empty allows any.
/// Unix-socket peers are governed by the socket file's permissions instead.
public struct PeerFilter: Sendable {
    private var v4: [UInt32] = []
    private var v6: [[UInt8]] = []

    /// Allows every peer.
    public init() {}

    /// Parses the list; throws a sentence naming an entry that is not an IP address.
    public init(list: String) throws(ListenSocket.Failure) {
        for entry in list.split(separator: ",") {
            let address = entry.trimmingSpaces
            var ipv4 = in_addr()
            var ipv6 = in6_addr()
            if inet_pton(AF_INET, address, &ipv4) == 1 {
                v4.append(ipv4.s_addr)
            } else if inet_pton(AF_INET6, address, &ipv6) == 1 {
                v6.append(withUnsafeBytes(of: ipv6) { Array($0) })
            } else if !address.isEmpty {
                throw ListenSocket.Failure(description: "FCGI_WEB_SERVER_ADDRS: '\(address)' is not an IP address")
            }
        }
    }

    /// Whether no list was given.
    public var allowsAll: Bool { v4.isEmpty && v6.isEmpty }

    /// Whether the peer of an accepted connection may send requests.
    func allows(_ peer: sockaddr_storage) -> Bool {
        if allowsAll { return true }
        var peer = peer
        switch Int32(peer.ss_family) {
        case AF_INET:
            let address = withUnsafeBytes(of: &peer) { $0.load(as: sockaddr_in.self).sin_addr.s_addr }
            return v4.contains(address)
        case AF_INET6:
            let bytes = withUnsafeBytes(of: &peer) { raw in
                withUnsafeBytes(of: raw.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
            }
            if let mapped = ipv4Mapped(bytes), v4.contains(mapped.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }) {
                return true
            }
            return v6.contains(bytes)
        default:
            return true
        }
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), as a
/// dual-stack socket shows an IPv4 peer or binding; nil for any other address.
func ipv4Mapped(_ ipv6: [UInt8]) -> ArraySlice<UInt8>? {
    guard ipv6.count == 16, ipv6[0..<10].allSatisfy({ $0 == 0 }), ipv6[10] == 0xFF, ipv6[11] == 0xFF else { return nil }
    return ipv6[12..<16]
}
