/// A misbehaviour the sandbox is told to show, for the next `remaining` token calls or until reset.
struct Fault: Sendable, Equatable {
    enum Kind: String, Sendable {
        /// Behave as eSputnik documents.
        case none
        /// HTTP 500.
        case serverError = "500"
        /// HTTP 429 with `Retry-After`.
        case rateLimited = "429"
        /// HTTP 400, as for a request eSputnik cannot read.
        case rejected = "400"
        /// HTTP 401, as for a wrong API key.
        case unauthorized = "401"
        /// HTTP 200 whose body is not JSON.
        case garbage
        /// HTTP 200 with a body over 64 KiB.
        case oversize
        /// Never answer (until the fault is cleared or two minutes pass).
        case hang
        /// HTTP 200 with a fixed token, for testing odd token strings.
        case token
    }

    var kind = Kind.none
    /// Delay before every answer, faulty or not.
    var latencyMs = 0
    /// Sent with 429.
    var retryAfter = 7
    /// How many more token calls show the fault; nil for all of them.
    var remaining: Int?
    /// Returned by `kind=token`.
    var token = ""
}
