import Glibc

/// State behind a pthread mutex: what the code would use `Synchronization.Mutex` for.
///
/// Why not that type: its lock is a futex word handled inside the prebuilt Synchronization
/// library, which ThreadSanitizer cannot see, so every access it protects was reported as a race
/// (and real races next to them would drown). pthread mutexes are intercepted by the sanitizer
/// and cost the same uncontended: an atomic exchange in glibc's fast path.
public final class Locked<State>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var state: State

    /// Creates the lock around `initial`.
    public init(_ initial: State) {
        state = initial
        // A default mutex cannot fail to initialise on Linux (pthread_mutex_init(3)); checked anyway.
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` on the state while holding the lock.
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}
