/// What `status` shows of the Redis connection (`fleet` in README "Status").
struct RedisStats: Sendable {
    /// Commands answered, answered with an error, and given up on after the timeout.
    var roundTrips = 0
    var errors = 0
    var timeouts = 0
    /// Connections made (the first included) and lost.
    var connects = 0
    var disconnects = 0
    /// Token requests that went on with local limits because Redis was not available.
    var fallbacks = 0
    /// An exponentially weighted mean of the round trip, in milliseconds (1/16 per answer).
    var latencyMs = 0.0
    /// Responders seen in the fleet within the last heartbeat window, this one included.
    var members = 1

    mutating func answered(afterMs ms: Double, error: Bool) {
        roundTrips += 1
        if error { errors += 1 }
        latencyMs = roundTrips == 1 ? ms : latencyMs + (ms - latencyMs) / 16
    }
}
