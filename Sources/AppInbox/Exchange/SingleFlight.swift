/// Coalesces concurrent calls for the same key into one: the first caller (the leader) does the
/// work, and everyone who asks for that key meanwhile blocks and receives the same value.
/// A call arriving after the leader finished starts a new flight; nothing is cached here.
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Flight: @unchecked Sendable {
        let lock = ConditionLock()
        var value: Value?  // guarded by lock
        var followers = 0  // guarded by the table's lock
    }

    private let flights = Locked<[Key: Flight]>([:])

    /// Creates an empty set of flights.
    public init() {}

    /// Runs `work` for `key` unless a call for the same key is already running, in which case it
    /// waits for that call's value. `shared` tells whether this caller received another's value.
    public func run(_ key: Key, _ work: () -> Value) -> (value: Value, shared: Bool) {
        let (flight, isLeader) = flights.withLock { table -> (Flight, Bool) in
            if let existing = table[key] {
                existing.followers += 1
                return (existing, false)
            }
            let flight = Flight()
            table[key] = flight
            return (flight, true)
        }
        if isLeader {
            let value = work()
            // Leave the table before publishing, so a late caller starts fresh rather than
            // receiving a value computed before it asked.
            _ = flights.withLock { $0.removeValue(forKey: key) }
            flight.lock.withLock {
                flight.value = value
                flight.lock.broadcast()
            }
            return (value, false)
        }
        let value = flight.lock.withLock { () -> Value in
            flight.lock.wait { flight.value != nil }
            return flight.value!
        }
        return (value, true)
    }

    /// How many keys have a call running (for status and tests).
    public var activeCount: Int { flights.withLock { $0.count } }

    /// How many callers wait for the running call for `key` (for tests).
    func followers(of key: Key) -> Int { flights.withLock { $0[key]?.followers ?? 0 } }
}
