@testable import AppInbox

extension SingleFlight {
    /// `join` and `finish` as a caller that blocks would use them: lead and run `work`, or wait
    /// for the leader's value. The tests drive flights from many real threads this way.
    func run(_ key: Key, _ work: () -> Value) -> (value: Value, shared: Bool) {
        let received = Awaited<Value>()
        guard join(key, follower: { received.supply($0) }) else { return (received.wait(), true) }
        let value = work()
        finish(key, with: value)
        return (value, false)
    }
}
