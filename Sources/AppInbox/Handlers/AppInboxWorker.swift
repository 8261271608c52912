/// Answers requests on one worker thread: routes them, runs the handler, counts and logs them.
public final class AppInboxWorker {
    let service: AppInboxService
    /// This worker's way to a token (its own transport to eSputnik).
    var tokens: TokenSource
    /// This worker's HMAC context for cache and rate-limit keys.
    let keyer: IdentityKeyer
    /// This worker's share of the status counters.
    let counters: Metrics.Shard

    init(service: AppInboxService, tokens: TokenSource, keyer: IdentityKeyer, counters: Metrics.Shard) {
        self.service = service
        self.tokens = tokens
        self.keyer = keyer
        self.counters = counters
    }

    /// One exchange with eSputnik, outside any route (the `token` subcommand); waits for it.
    public func exchange(_ identity: ContactIdentity) -> ExchangeOutcome {
        let outcome = Awaited<ExchangeOutcome>()
        tokens.exchange.exchange(identity) { outcome.supply($0) }
        return outcome.wait()
    }

    /// Answers one request, waiting for the answer if it comes later (plain CGI, tests).
    public func respond(to request: Request) -> Response {
        reply(to: request).wait()
    }

    /// Answers one request; never throws: every failure becomes an error answer. A token that
    /// needs eSputnik comes later, and this thread is free meanwhile.
    public func reply(to request: Request) -> Reply {
        let metrics = service.metrics
        metrics.busyWorkers.add(1, ordering: .relaxed)
        defer { metrics.busyWorkers.subtract(1, ordering: .relaxed) }
        let started = MonotonicClock.nowMs()
        let trace = RequestTrace()
        switch route(request, trace) {
        case .now(let response):
            Self.finish(request.method, response, trace, startedMs: started, counters: counters, log: service.log)
            return .now(response)
        case .later(let pending):
            let answered = Deferral()
            let (method, counters, log) = (request.method, counters, service.log)
            pending.attach { response in
                Self.finish(method, response, trace, startedMs: started, counters: counters, log: log)
                answered.complete(response)
            }
            return answered.reply
        }
    }

    /// Counts and logs an answered request.
    private static func finish(
        _ method: String, _ response: Response, _ trace: RequestTrace, startedMs: Double, counters: Metrics.Shard, log: Log
    ) {
        counters.recordRequest(route: trace.route, status: response.status, coalesced: trace.coalesced)
        if log.enabled(.info) {
            // Tenths of a millisecond by integer arithmetic: formatting a Double costs more.
            let tenths = Int((MonotonicClock.nowMs() - startedMs) * 10)
            log.info(
                "request",
                [
                    "route": trace.route, "method": method, "status": String(response.status),
                    "upstream": trace.upstreamStatus.map(String.init) ?? "-",
                    "ms": "\(tenths / 10).\(tenths % 10)",
                    "coalesced": trace.coalesced ? "1" : "0",
                    "identity": trace.identity ?? "-",
                ])
        }
    }

    private func route(_ request: Request, _ trace: RequestTrace) -> Reply {
        let path = RequestTarget.path(of: request)
        guard let route = Route.match(path: path, basePath: service.config.basePath) else {
            trace.route = "-"
            return .now(APIError.notFound.response)
        }
        trace.route = route.rawValue
        let method = request.method
        guard route.allowedMethods.contains(method) else {
            return .now(APIError.methodNotAllowed(allow: route.allowedMethods.joined(separator: ", ")).response)
        }
        switch route {
        case .token:
            return token(request, trace)
        case .initScript:
            return .now(initScript(request))
        case .healthz:
            return .now(service.isUnhealthy ? .text(status: 503, "eSputnik circuit breaker open\n") : .text("ok\n"))
        case .status:
            return .now(status(request))
        }
    }
}

/// What the request log line reports beyond the request itself. A reference: a token answered
/// later fills it in on the thread that completes it, before the line is written there.
final class RequestTrace: @unchecked Sendable {
    var route = "-"
    var upstreamStatus: Int?
    var coalesced = false
    var identity: String?
}
