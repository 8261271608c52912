/// An exchange's outcome as the fleet keeps it in Redis (sealed), for the leader's followers on
/// other hosts and, when it is a token, for the cache: `t` and the token, or `f`, the failure's
/// name and its Retry-After.
enum FleetOutcome {
    static func encode(_ outcome: ExchangeOutcome) -> [UInt8] {
        switch outcome.result {
        case .success(let token):
            return [UInt8(ascii: "t")] + Array(token.utf8)
        case .failure(let failure):
            let (name, retryAfter): (String, Int?) =
                switch failure {
                case .unavailable: ("unavailable", nil)
                case .throttled(let retryAfter): ("throttled", retryAfter)
                case .timedOut: ("timed_out", nil)
                case .badResponse: ("bad_response", nil)
                case .rejected: ("rejected", nil)
                case .refusedKey: ("refused_key", nil)
                case .heldBack(let retryAfter): ("held_back", retryAfter)
                }
            return Array("f\(name):\(retryAfter.map(String.init) ?? "")".utf8)
        }
    }

    /// The outcome `encode` wrote; nil for anything else.
    static func decode(_ bytes: [UInt8]) -> ExchangeOutcome? {
        guard let kind = bytes.first else { return nil }
        let rest = bytes.dropFirst()
        if kind == UInt8(ascii: "t") {
            guard let token = String(validating: rest, as: UTF8.self) else { return nil }
            return ExchangeOutcome(result: .success(token))
        }
        guard kind == UInt8(ascii: "f"), let text = String(validating: rest, as: UTF8.self),
            let colon = text.firstIndex(of: ":")
        else { return nil }
        let retryText = text[text.index(after: colon)...]
        let retryAfter = Int(retryText)
        guard retryText.isEmpty || retryAfter != nil else { return nil }
        let failure: UpstreamFailure
        switch text[..<colon] {
        case "unavailable": failure = .unavailable
        case "throttled": failure = .throttled(retryAfter: retryAfter)
        case "timed_out": failure = .timedOut
        case "bad_response": failure = .badResponse
        case "rejected": failure = .rejected
        case "refused_key": failure = .refusedKey
        case "held_back": failure = .heldBack(retryAfter: retryAfter ?? 1)
        default: return nil
        }
        return ExchangeOutcome(result: .failure(failure))
    }
}
