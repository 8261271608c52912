/// What happens to a connection between requests, decided from plain values: what a peek at its
/// receive queue found, whether the answer kept it, what time it is. No sockets, no clocks, no
/// threads: `EventLoop` carries the steps out, and the unit tests check them as tables.
struct ConnectionPolicy: Sendable {
    /// How long a connection may take to deliver a whole request head, after it opens or after
    /// its last answer (`APP_INBOX_IDLE_TIMEOUT_S`).
    let idleTimeoutMs: Double
    /// The first pause before looking again at part of a head, doubled up to `longestRecheckMs`.
    static let firstRecheckMs = 5.0
    static let longestRecheckMs = 50.0

    /// What a non-blocking peek at the receive queue found.
    enum Peek: Equatable {
        /// Nothing waits (yet): a wake-up with no bytes.
        case nothing
        /// The peer closed, or the socket failed.
        case gone
        /// Bytes wait; `RequestHead` judged them, and `windowFull` says the peek filled its buffer.
        case bytes(RequestHead.Verdict, count: Int, windowFull: Bool)
    }

    /// The next thing to do with the connection.
    enum Step: Equatable {
        /// Hand the connection to libfcgi: a whole request head waits.
        case serve
        /// Arm it for readiness until `deadlineMs`, then close it.
        case wait(deadlineMs: Double)
        /// Part of a head: readiness would report the same bytes again at once, so look again at
        /// `atMs` (unless `deadlineMs` passes first).
        case recheck(atMs: Double, deadlineMs: Double)
        /// Close it, reading `discard` peeked bytes first (closing on unread bytes resets the
        /// connection); `refusal` is for the log; `unknownRole` answers FCGI_UNKNOWN_ROLE first.
        case close(discard: Int, refusal: String?, unknownRole: UInt16?)
    }

    /// A fresh connection's deadline for its first request head.
    func opened(nowMs: Double) -> Double { nowMs + idleTimeoutMs }

    /// After a peek. `rechecks` counts the rechecks of this head so far (for the backoff).
    func afterPeek(_ peek: Peek, nowMs: Double, deadlineMs: Double, rechecks: Int) -> Step {
        switch peek {
        case .gone:
            return .close(discard: 0, refusal: nil, unknownRole: nil)
        case .nothing:
            return nowMs < deadlineMs ? .wait(deadlineMs: deadlineMs) : .close(discard: 0, refusal: nil, unknownRole: nil)
        case .bytes(let verdict, let count, let windowFull):
            switch verdict {
            case .ready:
                return .serve
            case .refused(let reason):
                return .close(discard: count, refusal: reason, unknownRole: nil)
            case .unknownRole(let requestId):
                return .close(discard: count, refusal: "role other than responder", unknownRole: requestId)
            case .incomplete:
                if windowFull {
                    return .close(discard: count, refusal: "request head over \(count) bytes", unknownRole: nil)
                }
                guard nowMs < deadlineMs else { return .close(discard: count, refusal: nil, unknownRole: nil) }
                let pause = min(Self.firstRecheckMs * Double(1 << min(rechecks, 8)), Self.longestRecheckMs)
                return .recheck(atMs: min(nowMs + pause, deadlineMs), deadlineMs: deadlineMs)
            }
        }
    }

    /// After an answer: libfcgi kept the connection iff the web server asked it to. A stopping
    /// server closes kept connections, so the web server sends nothing more here.
    func afterAnswer(kept: Bool, stopping: Bool, nowMs: Double) -> Step {
        kept && !stopping ? .wait(deadlineMs: nowMs + idleTimeoutMs) : .close(discard: 0, refusal: nil, unknownRole: nil)
    }

    /// What the sweeper does with a connection parked in `phase`.
    enum Sweep: Equatable {
        case leave
        /// Wake it for a closing (it is armed, so a thread may be about to serve it).
        case expire
        /// Look at its bytes again now.
        case recheck
        /// Close it here: it is part of a head past its deadline, and no thread holds it.
        case close
    }

    /// The sweeper's decision for a parked connection.
    func sweep(_ phase: ConnectionPhase, deadlineMs: Double, recheckAtMs: Double, nowMs: Double) -> Sweep {
        switch phase {
        case .waiting:
            nowMs >= deadlineMs ? .expire : .leave
        case .partial:
            nowMs >= deadlineMs ? .close : nowMs >= recheckAtMs ? .recheck : .leave
        case .busy, .expiring, .closing:
            .leave
        }
    }
}

extension FastCGIServer.Options {
    /// The connection policy these options ask for (workers and the sweeper use the same one).
    var connectionPolicy: ConnectionPolicy {
        ConnectionPolicy(idleTimeoutMs: Double(idleTimeoutSeconds) * 1000)
    }
}

/// Who may touch a connection now. One thread at a time owns it: a worker while `busy`, epoll
/// while `waiting` (armed one-shot, so its readiness goes to exactly one worker), the sweeper
/// while `partial` (disarmed) or `expiring`.
enum ConnectionPhase: UInt8, Sendable {
    /// A worker serves or judges it.
    case busy
    /// Armed in epoll for the next request.
    case waiting
    /// Part of a head arrived; the sweeper re-arms it at its recheck time.
    case partial
    /// The sweeper is shutting it down; the worker that holds its readiness waits for `closing`.
    case expiring
    /// Shut down for idleness: the worker that receives its readiness closes it.
    case closing
}
