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

    /// One exchange with eSputnik, outside any route (the `token` subcommand).
    public func exchange(_ identity: ContactIdentity) -> ExchangeOutcome {
        tokens.exchange.exchange(identity)
    }

    /// Answers one request; never throws: every failure becomes an error answer.
    public func respond(to request: Request) -> Response {
        let metrics = service.metrics
        metrics.busyWorkers.add(1, ordering: .relaxed)
        defer { metrics.busyWorkers.subtract(1, ordering: .relaxed) }
        let started = MonotonicClock.nowMs()
        var trace = RequestTrace()
        let response = route(request, &trace)
        counters.recordRequest(route: trace.route, status: response.status, coalesced: trace.coalesced)
        let log = service.log
        if log.enabled(.info) {
            // Tenths of a millisecond by integer arithmetic: formatting a Double costs more.
            let tenths = Int((MonotonicClock.nowMs() - started) * 10)
            log.info(
                "request",
                [
                    "route": trace.route, "method": request.method, "status": String(response.status),
                    "upstream": trace.upstreamStatus.map(String.init) ?? "-",
                    "ms": "\(tenths / 10).\(tenths % 10)",
                    "coalesced": trace.coalesced ? "1" : "0",
                    "identity": trace.identity ?? "-",
                ])
        }
        return response
    }

    private func route(_ request: Request, _ trace: inout RequestTrace) -> Response {
        let path = RequestTarget.path(of: request)
        guard let route = Route.match(path: path, basePath: service.config.basePath) else {
            trace.route = "-"
            return APIError.notFound.response
        }
        trace.route = route.rawValue
        let method = request.method
        guard route.allowedMethods.contains(method) else {
            return APIError.methodNotAllowed(allow: route.allowedMethods.joined(separator: ", ")).response
        }
        switch route {
        case .token:
            return token(request, &trace)
        case .initScript:
            return initScript(request)
        case .healthz:
            return service.isUnhealthy ? .text(status: 503, "eSputnik circuit breaker open\n") : .text("ok\n")
        case .status:
            return status(request)
        }
    }
}

/// What the request log line reports beyond the request itself.
struct RequestTrace {
    var route = "-"
    var upstreamStatus: Int?
    var coalesced = false
    var identity: String?
}
