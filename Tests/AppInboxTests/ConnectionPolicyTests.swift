import Testing

@testable import FastCGI

/// A connection's life between requests, as tables: what a peek found or an answer did, and
/// what happens next. The sockets and the clock are `EventLoop`'s; here they are numbers.
@Suite("ConnectionPolicy")
struct ConnectionPolicyTests {
    let policy = ConnectionPolicy(idleTimeoutMs: 10_000)
    let closeQuietly = ConnectionPolicy.Step.close(discard: 0, refusal: nil, unknownRole: nil)

    @Test func aWholeHeadIsServed() {
        let step = policy.afterPeek(.bytes(.ready, count: 900, windowFull: false), nowMs: 5, deadlineMs: 10_000, rechecks: 0)
        #expect(step == .serve)
    }

    @Test func aWakeUpWithNothingWaitingWaitsOnUntilTheSameDeadline() {
        #expect(policy.afterPeek(.nothing, nowMs: 5, deadlineMs: 10_000, rechecks: 0) == .wait(deadlineMs: 10_000))
        #expect(policy.afterPeek(.nothing, nowMs: 10_000, deadlineMs: 10_000, rechecks: 0) == closeQuietly)
    }

    @Test func aPeerThatClosedIsClosed() {
        #expect(policy.afterPeek(.gone, nowMs: 5, deadlineMs: 10_000, rechecks: 0) == closeQuietly)
    }

    @Test func refusedBytesAreReadAndClosedWithTheReason() {
        let step = policy.afterPeek(
            .bytes(.refused("management record (request id 0)"), count: 48, windowFull: false), nowMs: 5,
            deadlineMs: 10_000, rechecks: 0)
        #expect(step == .close(discard: 48, refusal: "management record (request id 0)", unknownRole: nil))
    }

    @Test func anotherRoleIsAnsweredUnknownRoleThenClosed() {
        let step = policy.afterPeek(
            .bytes(.unknownRole(requestId: 7), count: 16, windowFull: false), nowMs: 5, deadlineMs: 10_000, rechecks: 0)
        #expect(step == .close(discard: 16, refusal: "role other than responder", unknownRole: 7))
    }

    /// Part of a head is looked at again later (readiness would report the same bytes at once),
    /// sooner at first, never past the deadline.
    @Test(arguments: [(0, 5.0), (1, 10.0), (2, 20.0), (3, 40.0), (4, 50.0), (40, 50.0)])
    func partOfAHeadIsRecheckedWithBackoff(_ rechecks: Int, _ pause: Double) {
        let step = policy.afterPeek(
            .bytes(.incomplete, count: 100, windowFull: false), nowMs: 1_000, deadlineMs: 10_000, rechecks: rechecks)
        #expect(step == .recheck(atMs: 1_000 + pause, deadlineMs: 10_000))
    }

    @Test func aRecheckNeverOutlivesTheDeadline() {
        let step = policy.afterPeek(
            .bytes(.incomplete, count: 100, windowFull: false), nowMs: 9_990, deadlineMs: 10_000, rechecks: 5)
        #expect(step == .recheck(atMs: 10_000, deadlineMs: 10_000))
        let late = policy.afterPeek(
            .bytes(.incomplete, count: 100, windowFull: false), nowMs: 10_000, deadlineMs: 10_000, rechecks: 5)
        #expect(late == .close(discard: 100, refusal: nil, unknownRole: nil))
    }

    @Test func aHeadLargerThanThePeekWindowIsRefused() {
        let step = policy.afterPeek(
            .bytes(.incomplete, count: 70_000, windowFull: true), nowMs: 5, deadlineMs: 10_000, rechecks: 0)
        #expect(step == .close(discard: 70_000, refusal: "request head over 70000 bytes", unknownRole: nil))
    }

    @Test func aKeptConnectionWaitsAFreshIdleTimeoutForItsNextRequest() {
        #expect(policy.afterAnswer(kept: true, stopping: false, nowMs: 3_000) == .wait(deadlineMs: 13_000))
        #expect(policy.opened(nowMs: 3_000) == 13_000)
    }

    @Test func aStoppingServerClosesKeptConnectionsAfterTheAnswer() {
        #expect(policy.afterAnswer(kept: true, stopping: true, nowMs: 3_000) == closeQuietly)
        #expect(policy.afterAnswer(kept: false, stopping: false, nowMs: 3_000) == closeQuietly)
    }

    /// The sweeper acts only on connections no worker holds, and only once their time came.
    @Test(
        arguments: [
            (ConnectionPhase.waiting, 9_999.0, ConnectionPolicy.Sweep.leave),
            (.waiting, 10_000, .expire),
            (.partial, 999, .leave),
            (.partial, 1_000, .recheck),
            (.partial, 10_000, .close),
            (.busy, 50_000, .leave),
            (.expiring, 50_000, .leave),
            (.closing, 50_000, .leave),
        ] as [(ConnectionPhase, Double, ConnectionPolicy.Sweep)])
    func theSweeperActsOnlyOnParkedConnectionsWhoseTimeCame(
        _ phase: ConnectionPhase, _ nowMs: Double, _ expected: ConnectionPolicy.Sweep
    ) {
        #expect(policy.sweep(phase, deadlineMs: 10_000, recheckAtMs: 1_000, nowMs: nowMs) == expected)
    }
}

/// The hand-over protocol between epoll's one-shot readiness, the workers and the sweeper.
@Suite("Connection")
struct ConnectionTests {
    @Test func aWaitingConnectionIsClaimedOnceByTheWorkerThatGotItsReadiness() {
        let connection = Connection(fd: -1)
        connection.park(.waiting, deadlineMs: 10_000)
        #expect(connection.claim() == .serve)
        #expect(connection.phase == .busy)
        // A second claim (not possible with one-shot readiness) would not be a second owner.
        #expect(connection.claim() == .ignore)
    }

    @Test func anExpiredConnectionIsClosedByTheWorkerThatGetsItsReadiness() {
        let connection = Connection(fd: -1)
        connection.park(.waiting, deadlineMs: 10_000)
        #expect(connection.take(from: .waiting, to: .expiring))
        // The worker cannot claim it while the sweeper shuts it down, nor serve it after.
        #expect(!connection.take(from: .waiting, to: .busy))
        connection.set(.closing)
        #expect(connection.claim() == .close)
    }

    @Test func theSweeperCannotExpireAConnectionAWorkerHolds() {
        let connection = Connection(fd: -1)
        connection.park(.waiting, deadlineMs: 10_000)
        #expect(connection.claim() == .serve)
        #expect(!connection.take(from: .waiting, to: .expiring))
    }

    @Test func theTokenLeadsBackToTheSameConnection() {
        let connection = Connection(fd: 42)
        #expect(Connection.from(token: connection.token) === connection)
        #expect(connection.token != 0)  // 0 is the listener's
        connection.park(.partial, deadlineMs: 9_000.2, recheckAtMs: 1_000.5)
        #expect(connection.deadlineMs == 9_001)
        #expect(connection.recheckAtMs == 1_001)
    }
}
