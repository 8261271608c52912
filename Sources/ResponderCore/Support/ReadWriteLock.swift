import Glibc

/// A pthread reader-writer lock guarding a value: many workers may read at once. Used where
/// nearly every access is a read (cache lookups), so that readers never queue behind each other
/// in the kernel as they would on a mutex under load.
public final class ReadWriteLock<Value: Sendable>: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    private var value: Value  // guarded by lock

    public init(_ value: Value) {
        self.value = value
        // Cannot fail with default attributes on Linux (pthread_rwlock_init(3)); checked anyway.
        let status = pthread_rwlock_init(lock, nil)
        precondition(status == 0, "pthread_rwlock_init: \(status)")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` with shared access.
    public func read<T>(_ body: (Value) -> T) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return body(value)
    }

    /// Runs `body` with exclusive access.
    public func write<T>(_ body: (inout Value) -> T) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return body(&value)
    }
}
