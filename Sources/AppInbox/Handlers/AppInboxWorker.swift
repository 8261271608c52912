/// Answers requests on one worker thread: routes them, runs the handler, logs one line.
public final class AppInboxWorker {
    let service: AppInboxService
    let tokenExchange: TokenExchange<CurlUpstream>

    init(service: AppInboxService, exchange: TokenExchange<CurlUpstream>) {
        self.service = service
        self.tokenExchange = exchange
    }

    /// One exchange with eSputnik, outside any route (the `token` subcommand).
    public func exchange(_ identity: ContactIdentity) -> ExchangeOutcome {
        tokenExchange.exchange(identity)
    }

    /// Answers one request; never throws: every failure becomes an error answer.
    public func respond(to request: Request) -> Response {
        let started = MonotonicClock.nowMs()
        var trace = RequestTrace()
        let response = route(request, &trace)
        let log = service.log
        if log.enabled(.info) {
            let elapsed = MonotonicClock.nowMs() - started
            log.info(
                "request",
                [
                    "route": trace.route, "method": request.method, "status": String(response.status),
                    "upstream": trace.upstreamStatus.map(String.init) ?? "-",
                    "ms": String(Double(Int(elapsed * 10)) / 10),
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
            return Response.text("ok\n")
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
