import Glibc
import Testing

@testable import AppInbox

/// Thread-safe state shared by the test threads.
private final class Shared<State: Sendable>: Sendable {
    let state: Locked<State>
    init(_ initial: State) { state = Locked(initial) }
    func update<R: Sendable>(_ body: (inout State) -> R) -> R { state.withLock { body(&$0) } }
    var value: State { state.withLock { $0 } }
}

@Suite("SingleFlight")
struct SingleFlightTests {
    @Test func followersReceiveTheLeadersValueWhenItFinishesWithoutBlocking() {
        let flights = SingleFlight<String, Int>()
        let received = Shared<[Int]>([])
        #expect(flights.join("k") { _ in Issue.record("the leader is not a follower") })
        #expect(!flights.join("k") { value in received.update { $0.append(value) } })
        #expect(!flights.join("k") { value in received.update { $0.append(value) } })
        #expect(flights.followers(of: "k") == 2)
        #expect(received.value.isEmpty)  // nobody waits on a thread: the values come with finish
        flights.finish("k", with: 7)
        #expect(received.value == [7, 7])
        // The flight is over: the next caller leads a new one.
        #expect(flights.activeCount == 0)
        #expect(flights.join("k") { _ in })
    }

    @Test func concurrentCallsForOneKeyRunTheWorkOnce() {
        let flights = SingleFlight<String, Int>()
        let workRuns = Shared(0)
        let arrived = Shared(0)
        let results = Shared<[(value: Int, shared: Bool)]>([])
        onThreads(20) { _ in
            arrived.update { $0 += 1 }
            let result = flights.run("alice@example.com") {
                let run = workRuns.update { count -> Int in
                    count += 1
                    return count
                }
                // Hold the flight until every thread is about to join it, then 200 ms more.
                _ = waitUntil(ms: 5000) { arrived.value == 20 }
                MonotonicClock.sleep(ms: 200)
                return 1000 + run
            }
            results.update { $0.append(result) }
        }
        let all = results.value
        #expect(workRuns.value == 1)
        #expect(all.count == 20)
        #expect(all.allSatisfy { $0.value == 1001 })
        #expect(all.filter(\.shared).count == 19)
        #expect(flights.activeCount == 0)
    }

    @Test func differentKeysRunIndependently() {
        let flights = SingleFlight<ContactIdentity, String>()
        let bStarted = Shared(false)
        let results = Shared<[String: (value: String, shared: Bool)]>([:])
        let alice = ContactIdentity(email: "alice@example.com")
        let bob = ContactIdentity(email: "bob@example.com")
        onThreads(2) { index in
            let key = index == 0 ? alice : bob
            let result = flights.run(key) {
                if index == 0 {
                    // If bob's flight were queued behind alice's, this would time out.
                    return waitUntil(ms: 2000) { bStarted.value } ? "alice-token" : "serialized"
                }
                bStarted.update { $0 = true }
                return "bob-token"
            }
            results.update { $0[index == 0 ? "alice" : "bob"] = result }
        }
        let all = results.value
        #expect(all["alice"]?.value == "alice-token")
        #expect(all["bob"]?.value == "bob-token")
        #expect(all["alice"]?.shared == false)
        #expect(all["bob"]?.shared == false)
    }

    /// Canonically equivalent but byte-different identities are different eSputnik contacts: each
    /// must lead its own flight, or one user receives the token minted for the other.
    @Test(arguments: [
        ("jos\u{E9}@example.com", "jose\u{301}@example.com"),  // NFC vs NFD
        ("K-1001", "\u{212A}-1001"),  // KELVIN SIGN decomposes to K
        ("a;b", "a\u{37E}b"),  // GREEK QUESTION MARK decomposes to ;
        ("a`b", "a\u{1FEF}b"),  // GREEK VARIA decomposes to a backtick
    ])
    func canonicallyEquivalentIdentitiesFlyApart(victim: String, attacker: String) {
        #expect(victim == attacker, "the pair must be String-equal for this test to mean anything")
        let flights = SingleFlight<ContactIdentity, [UInt8]>()
        let leaderInside = Shared(false)
        let followerDone = Shared(false)
        let results = Shared<[Int: (value: [UInt8], shared: Bool)]>([:])
        onThreads(2) { index in
            let identity = ContactIdentity(externalCustomerId: index == 0 ? victim : attacker)
            if index == 1 { _ = waitUntil(ms: 2000) { leaderInside.value } }
            let result = flights.run(identity) {
                if index == 0 {
                    leaderInside.update { $0 = true }
                    // Stay in flight until the other caller has finished (or clearly joined us).
                    _ = waitUntil(ms: 500) { followerDone.value }
                }
                return identity.upstreamBody
            }
            if index == 1 { followerDone.update { $0 = true } }
            results.update { $0[index] = result }
        }
        let all = results.value
        #expect(all[0]?.value == ContactIdentity(externalCustomerId: victim).upstreamBody)
        #expect(all[1]?.value == ContactIdentity(externalCustomerId: attacker).upstreamBody)
        #expect(all[1]?.shared == false)
    }

    @Test func aCallAfterCompletionRunsTheWorkAgain() {
        let flights = SingleFlight<String, Int>()
        var runs = 0
        let first = flights.run("k") {
            runs += 1
            return 1
        }
        let second = flights.run("k") {
            runs += 1
            return 2
        }
        #expect(first.value == 1)
        #expect(second.value == 2)
        #expect(!first.shared)
        #expect(!second.shared)
        #expect(runs == 2)
        #expect(flights.activeCount == 0)
    }

    @Test func activeCountShowsRunningFlights() {
        let flights = SingleFlight<Int, Int>()
        let inside = Shared(false)
        let release = Shared(false)
        let seen = Shared(-1)
        onThreads(2) { index in
            if index == 0 {
                _ = flights.run(7) {
                    inside.update { $0 = true }
                    _ = waitUntil(ms: 2000) { release.value }
                    return 7
                }
            } else {
                _ = waitUntil(ms: 2000) { inside.value }
                seen.update { $0 = flights.activeCount }
                release.update { $0 = true }
            }
        }
        #expect(seen.value == 1)
        #expect(flights.activeCount == 0)
    }
}
