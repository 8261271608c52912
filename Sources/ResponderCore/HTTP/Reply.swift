import Synchronization

/// A handler's answer: ready now, or later, when something it waits for (eSputnik) answers.
/// A request answered later holds no thread meanwhile: the transport parks it and writes the
/// answer from whichever thread completes the `Deferral`.
public enum Reply: Sendable {
    case now(Response)
    case later(Deferral)

    /// The answer, waiting for it if it comes later (plain CGI, the command line, tests).
    public func wait() -> Response {
        switch self {
        case .now(let response): response
        case .later(let deferral): deferral.wait()
        }
    }
}

/// One answer that arrives later, completed exactly once from any thread. Whoever takes the
/// answer attaches a continuation; if the answer came first, the continuation runs at once on
/// the attaching thread, else on the completing one.
public final class Deferral: Sendable {
    private enum Phase {
        case pending
        case answered(Response)
        case attached(@Sendable (Response) -> Void)
        case finished
    }

    private let phase = Mutex<Phase>(.pending)

    /// Creates an unanswered deferral.
    public init() {}

    /// The answer; call once.
    public func complete(_ response: Response) {
        let continuation = phase.withLock { phase -> (@Sendable (Response) -> Void)? in
            switch phase {
            case .pending:
                phase = .answered(response)
                return nil
            case .attached(let continuation):
                phase = .finished
                return continuation
            case .answered, .finished:
                preconditionFailure("a deferral completed twice")
            }
        }
        continuation?(response)
    }

    /// Runs `continuation` with the answer, now if it is there; attach once.
    public func attach(_ continuation: @escaping @Sendable (Response) -> Void) {
        let ready = phase.withLock { phase -> Response? in
            switch phase {
            case .pending:
                phase = .attached(continuation)
                return nil
            case .answered(let response):
                phase = .finished
                return response
            case .attached, .finished:
                preconditionFailure("a deferral attached twice")
            }
        }
        if let ready { continuation(ready) }
    }

    /// `.now` if the answer already came (a handler that completed before returning), else
    /// `.later(self)`.
    public var reply: Reply {
        let ready = phase.withLock { phase -> Response? in
            guard case .answered(let response) = phase else { return nil }
            phase = .finished
            return response
        }
        return ready.map(Reply.now) ?? .later(self)
    }

    /// Blocks the calling thread until the answer comes.
    public func wait() -> Response {
        let answer = Awaited<Response>()
        attach { answer.supply($0) }
        return answer.wait()
    }
}
