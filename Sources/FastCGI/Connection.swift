import Glibc
import Synchronization

/// One accepted FastCGI connection. Its phase says which thread owns it (`ConnectionPhase`);
/// the deadline and recheck time are written by the owner before it hands the connection on,
/// and read by the sweeper.
final class Connection: Sendable {
    let fd: Int32
    private let phaseValue: Atomic<UInt8>
    private let deadlineValue = Atomic<Int>(0)
    private let recheckValue = Atomic<Int>(0)
    /// Whether epoll knows the descriptor (add once, then modify); owner only.
    nonisolated(unsafe) var registered = false
    /// Rechecks of the current partial head; owner only.
    nonisolated(unsafe) var rechecks = 0

    init(fd: Int32) {
        self.fd = fd
        phaseValue = Atomic(ConnectionPhase.busy.rawValue)
    }

    /// The user data epoll returns with this connection's readiness. The `ConnectionTable`
    /// keeps the object alive until the connection is closed.
    var token: UInt64 { UInt64(UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque())) }

    /// The connection behind a readiness report's token.
    static func from(token: UInt64) -> Connection {
        Unmanaged<Connection>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(token))!).takeUnretainedValue()
    }

    var phase: ConnectionPhase { ConnectionPhase(rawValue: phaseValue.load(ordering: .acquiring))! }

    /// Milliseconds on the monotonic clock (whole ones are precise enough for second-long limits).
    var deadlineMs: Double { Double(deadlineValue.load(ordering: .relaxed)) }
    var recheckAtMs: Double { Double(recheckValue.load(ordering: .relaxed)) }

    /// Hands the connection to epoll until `deadlineMs`; returns whether epoll knew it already
    /// (modify rather than add). The flag is written before the phase is published, so the
    /// worker that next owns the connection reads it in order.
    func parkWaiting(deadlineMs: Double) -> Bool {
        let wasRegistered = registered
        registered = true
        park(.waiting, deadlineMs: deadlineMs)
        return wasRegistered
    }

    /// Hands the connection on in `phase` (waiting or partial), with its times.
    func park(_ phase: ConnectionPhase, deadlineMs: Double, recheckAtMs: Double = 0) {
        deadlineValue.store(Int(deadlineMs.rounded(.up)), ordering: .relaxed)
        recheckValue.store(Int(recheckAtMs.rounded(.up)), ordering: .relaxed)
        phaseValue.store(phase.rawValue, ordering: .releasing)
    }

    /// Moves `from` → `to` if nobody else moved it first.
    func take(from: ConnectionPhase, to: ConnectionPhase) -> Bool {
        phaseValue.compareExchange(expected: from.rawValue, desired: to.rawValue, ordering: .acquiringAndReleasing).exchanged
    }

    func set(_ phase: ConnectionPhase) { phaseValue.store(phase.rawValue, ordering: .releasing) }

    /// What the worker that received this connection's readiness may do with it.
    enum Claim {
        /// It is the worker's now (`busy`).
        case serve
        /// The sweeper expired it and shut it down (`closing`): the worker closes it.
        case close
        /// Readiness for a connection that was not waiting: nothing to do (not expected).
        case ignore
    }

    /// Claims the connection for the worker that received its readiness.
    func claim() -> Claim {
        while true {
            if take(from: .waiting, to: .busy) { return .serve }
            switch phase {
            case .closing: return .close
            case .expiring: sched_yield()  // the sweeper is between its claim and its shutdown()
            case .waiting: continue
            case .busy, .partial: return .ignore
            }
        }
    }
}
