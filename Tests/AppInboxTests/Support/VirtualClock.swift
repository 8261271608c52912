@testable import AppInbox

/// Milliseconds that pass only when a test says so: the exchange's clock and pauses, and the
/// scripted eSputnik's answer times, run on it, so timing tests neither sleep nor flake.
final class VirtualClock: Sendable {
    private let ms = Locked(0.0)

    func now() -> Double { ms.withLock { $0 } }

    func advance(_ by: Double) { ms.withLock { $0 += by } }
}
