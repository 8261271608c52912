extension AppInboxWorker {
    /// The token route: the validated identity in, `{"token":"…"}` out.
    func token(_ request: Request, _ trace: inout RequestTrace) -> Response {
        let identity: ContactIdentity
        do {
            identity = try ContactIdentity.read(from: request, params: service.config.identityParams)
        } catch {
            return error.response
        }
        trace.identity = identity.masked
        let (outcome, shared) = service.flights.run(identity) { tokenExchange.exchange(identity) }
        trace.upstreamStatus = outcome.upstreamStatus
        trace.coalesced = shared
        switch outcome.result {
        case .success(let token):
            return .json(TokenAnswer.body(token))
        case .failure(let error):
            return error.response
        }
    }
}

/// The token route's success body.
public enum TokenAnswer {
    /// `{"token":"…"}` with the token byte-exact after JSON decoding.
    public static func body(_ token: String) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(token.utf8.count + 16)
        body.append(contentsOf: #"{"token":"#.utf8)
        JSONString.append(token, to: &body)
        body.append(UInt8(ascii: "}"))
        return body
    }
}
