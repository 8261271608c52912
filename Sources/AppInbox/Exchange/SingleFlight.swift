/// Coalesces concurrent calls for the same key into one: the first caller (the leader) does the
/// work, and everyone who asks for that key meanwhile is queued and receives the same value when
/// the leader finishes. Nobody blocks: a follower's continuation runs on the leader's thread.
/// A call arriving after the leader finished starts a new flight; nothing is cached here.
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let flights = Locked<[Key: [@Sendable (Value) -> Void]]>([:])

    /// Creates an empty set of flights.
    public init() {}

    /// Joins the flight for `key`. Returns true when the caller leads: it must do the work and
    /// call `finish`. Otherwise `follower` runs with the leader's value.
    public func join(_ key: Key, follower: @escaping @Sendable (Value) -> Void) -> Bool {
        flights.withLock { table in
            if table[key] != nil {
                table[key]!.append(follower)
                return false
            }
            table[key] = []
            return true
        }
    }

    /// Ends the flight for `key` with its value: hands it to `leader` (the leader's own answer),
    /// then to every follower.
    public func finish(_ key: Key, with value: Value, leader: (Value) -> Void = { _ in }) {
        // Leave the table before anyone is answered: a caller who asks again the moment its answer
        // arrives must start fresh, not receive the value it asked to replace.
        let followers = flights.withLock { $0.removeValue(forKey: key) } ?? []
        leader(value)
        for follower in followers { follower(value) }
    }

    /// How many keys have a call running (for status and tests).
    public var activeCount: Int { flights.withLock { $0.count } }

    /// How many callers wait for the running call for `key` (for tests).
    func followers(of key: Key) -> Int { flights.withLock { $0[key]?.count ?? 0 } }
}
