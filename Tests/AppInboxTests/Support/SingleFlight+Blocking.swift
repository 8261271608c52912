@testable import AppInbox

extension SingleFlight {
    /// `join` and `finish` as a caller that blocks would use them: lead and run `work`, or wait
    /// for the leader's value. The tests drive flights from many real threads this way.
    func run(_ key: Key, _ work: () -> Value) -> (value: Value, shared: Bool) {
        let received = Locked<Value?>(nil)
        let arrived = ConditionLock()
        let leads = join(key) { value in
            arrived.withLock {
                received.withLock { $0 = value }
                arrived.broadcast()
            }
        }
        if leads {
            let value = work()
            finish(key, with: value)
            return (value, false)
        }
        return arrived.withLock {
            arrived.wait { received.withLock { $0 != nil } }
            return (received.withLock { $0! }, true)
        }
    }
}
