import CFastCGI
import Glibc
import ResponderCore

/// The open connections, for the sweeper: it closes those idle past their deadline and looks
/// again at partial request heads. Workers insert a connection when they accept it and remove
/// it when they close it; the table's reference keeps the object behind an epoll token alive.
final class ConnectionTable: Sendable {
    private let open = Locked<[Int32: Connection]>([:])
    private let partials = Locked<[Int32: Connection]>([:])

    func insert(_ connection: Connection) {
        open.withLock { $0[connection.fd] = connection }
    }

    /// Forgets `connection` (not a newer one that reuses its descriptor number).
    func remove(_ connection: Connection) {
        open.withLock { table in
            if table[connection.fd] === connection { table[connection.fd] = nil }
        }
    }

    /// Parks a connection holding part of a request head, for the sweeper to look at again.
    func addPartial(_ connection: Connection) {
        partials.withLock { $0[connection.fd] = connection }
    }

    var hasPartials: Bool { partials.withLock { !$0.isEmpty } }

    /// Re-arms partial heads whose recheck time came, and closes those past their deadline.
    func sweepPartials(policy: ConnectionPolicy, poller: Poller, nowMs: Double) {
        let due = partials.withLock { table -> [(Connection, ConnectionPolicy.Sweep)] in
            var due: [(Connection, ConnectionPolicy.Sweep)] = []
            for connection in table.values {
                let sweep = policy.sweep(
                    connection.phase, deadlineMs: connection.deadlineMs, recheckAtMs: connection.recheckAtMs, nowMs: nowMs)
                if sweep != .leave {
                    due.append((connection, sweep))
                    table[connection.fd] = nil
                }
            }
            return due
        }
        for (connection, sweep) in due {
            // Partial connections are disarmed: no worker holds them, so the sweeper may act.
            guard connection.take(from: .partial, to: .busy) else { continue }
            if sweep == .recheck {
                let wasRegistered = connection.parkWaiting(deadlineMs: connection.deadlineMs)
                if poller.arm(connection.fd, token: connection.token, added: wasRegistered) { continue }
                // Never armed, so no worker receives it; only this thread expires connections.
                connection.set(.busy)
            }
            close(connection)
        }
    }

    /// Shuts down connections that waited for a request past their deadline. A waiting
    /// connection is armed, so a worker may be about to receive its readiness: the sweeper only
    /// shuts it down, and whichever worker receives the resulting readiness closes it.
    func expireIdle(policy: ConnectionPolicy, nowMs: Double) {
        let expired = open.withLock { table in
            table.values.filter {
                policy.sweep($0.phase, deadlineMs: $0.deadlineMs, recheckAtMs: 0, nowMs: nowMs) == .expire
            }
        }
        for connection in expired where connection.take(from: .waiting, to: .expiring) {
            // Served and parked again since the look above: it has a new deadline.
            if connection.deadlineMs > nowMs {
                connection.set(.waiting)
                continue
            }
            Glibc.shutdown(connection.fd, Int32(SHUT_RDWR))
            connection.set(.closing)
        }
    }

    /// Closes a connection its caller owns, reading what is left unread first.
    func close(_ connection: Connection, discard: Int = 1 << 20) {
        remove(connection)
        if discard > 0 { Self.drain(connection.fd, upTo: discard) }
        Glibc.close(connection.fd)
    }

    /// Reads up to `limit` waiting bytes without blocking: closing a socket with unread bytes
    /// resets it, and a reset can overtake an answer still in flight.
    private static func drain(_ fd: Int32, upTo limit: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16_384) { buffer in
            var left = limit
            while left > 0 {
                let count = recv(fd, buffer.baseAddress, min(left, buffer.count), Int32(MSG_DONTWAIT))
                if count <= 0 { return }
                left -= count
            }
        }
    }
}
