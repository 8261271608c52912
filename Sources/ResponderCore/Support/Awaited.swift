/// A value that another thread will supply once, and a thread that blocks until it does: how
/// the synchronous callers (plain CGI, the command line, tests) wait for an answer that comes
/// on the curl event loop.
public final class Awaited<Value: Sendable>: Sendable {
    private let lock = ConditionLock()
    private let value = Locked<Value?>(nil)

    /// Creates an empty slot.
    public init() {}

    /// Supplies the value and wakes the waiter.
    public func supply(_ supplied: Value) {
        lock.withLock {
            value.withLock { $0 = supplied }
            lock.broadcast()
        }
    }

    /// Blocks until the value is supplied.
    public func wait() -> Value {
        lock.withLock {
            lock.wait { value.withLock { $0 != nil } }
            return value.withLock { $0! }
        }
    }
}
