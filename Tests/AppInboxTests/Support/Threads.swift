import Glibc

@testable import AppInbox

/// A real pthread running `body`, for tests whose callers block (Dispatch's `concurrentPerform`
/// would run only as many at once as there are cores).
struct TestThread {
    private let thread: pthread_t

    init(_ body: @escaping () -> Void) {
        final class Job {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().run()
                return nil
            }, job)
        precondition(created == 0, "pthread_create: \(created)")
        self.thread = thread
    }

    func join() {
        precondition(pthread_join(thread, nil) == 0)
    }
}

/// Runs `body(index)` on `count` threads at once and waits for all of them.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let threads = (0..<count).map { index in TestThread { body(index) } }
    for thread in threads { thread.join() }
}

/// Polls `condition` every millisecond for up to `ms`; true once it holds.
func waitUntil(ms: Double, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.nowMs() + ms
    while !condition() {
        if MonotonicClock.nowMs() > deadline { return false }
        usleep(1_000)
    }
    return true
}
