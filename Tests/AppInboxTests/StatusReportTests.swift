import Testing

@testable import AppInbox

/// Counters as a busy process would have them, recorded through `Metrics`.
private func busyCounters() -> Metrics.Counters {
    let metrics = Metrics()
    for _ in 0..<5 { metrics.recordRequest(route: "token", status: 200, coalesced: false) }
    metrics.recordRequest(route: "token", status: 200, coalesced: true)
    metrics.recordRequest(route: "token", status: 429, coalesced: false)
    metrics.recordRequest(route: "token", status: 503, coalesced: false)
    metrics.recordRequest(route: "init.js", status: 304, coalesced: false)
    metrics.recordRequest(route: "status", status: 200, coalesced: false)
    for durationMs in [1.0, 4, 5, 7, 30, 30, 120, 480, 999, 4_000, 12_000] {
        metrics.recordUpstream(outcome: "token", durationMs: durationMs)
    }
    metrics.recordUpstream(outcome: "upstream_timeout", durationMs: 5_000)
    metrics.recordUpstream(outcome: "unknown_contact", durationMs: 20)
    metrics.count(\.cacheHits)
    metrics.count(\.cacheHits)
    metrics.count(\.cacheMisses)
    metrics.count(\.rateLimited)
    metrics.count(\.breakerRejected)
    metrics.count(\.breakerRejected)
    metrics.count(\.breakerRejected)
    metrics.count(\.upstreamCapRejected)
    for _ in 0..<4 { metrics.count(\.tokensRemembered) }
    metrics.count(\.tokensVerified)
    metrics.count(\.tokensRefused)
    metrics.count(\.tokensRefused)
    return metrics.snapshot
}

private func openBreaker() -> CircuitBreaker {
    var breaker = CircuitBreaker(threshold: 1, cooldownSeconds: 10)
    breaker.record(failed: true, nowMs: 0)
    return breaker
}

private func report(
    _ counters: Metrics.Counters = busyCounters(), breaker: CircuitBreaker = openBreaker(), workers: Int = 32,
    busy: Int = 3
) -> StatusReport {
    StatusReport(
        counters: counters, uptimeSeconds: 123.456, workers: workers, busyWorkers: busy, upstreamInFlight: 2,
        cacheEnabled: true, signedIdentityEnabled: true, cacheSize: 40, cacheEvictions: 7, breaker: breaker)
}

private func number(_ value: JSONValue?) -> Double? {
    if case .number(let number) = value { return number }
    return nil
}

private func members(_ value: JSONValue?) -> [String: JSONValue]? {
    if case .object(let members) = value { return members }
    return nil
}

/// One sample line of the OpenMetrics text.
private struct Sample {
    var name: String
    var labels: [String: String]
    var value: Double

    init?(_ line: Substring) {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        self.value = value
        if let brace = series.firstIndex(of: "{") {
            guard series.hasSuffix("}") else { return nil }
            name = String(series[..<brace])
            labels = [:]
            let inside = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            for pair in inside.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\""), parts[1].count >= 2 else { return nil }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
        } else {
            name = String(series)
            labels = [:]
        }
    }
}

/// The OpenMetrics text split into families (name → type) and samples (with their family).
private struct Exposition {
    var types: [String: String] = [:]
    var helps: Set<String> = []
    var samples: [(family: String, sample: Sample)] = []
    var problems: [String] = []

    /// Sample-name suffixes each OpenMetrics type allows.
    static let suffixes: [String: [String]] = [
        "counter": ["_total", "_created"], "gauge": [""], "stateset": [""], "unknown": [""], "info": ["_info"],
        "histogram": ["_bucket", "_sum", "_count", "_created"], "summary": ["", "_sum", "_count", "_created"],
    ]

    init(_ text: String) {
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line == "# EOF" { continue }
            if line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP ") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count >= 4 else {
                    problems.append("short metadata line: \(line)")
                    continue
                }
                let name = String(parts[2])
                if parts[1] == "TYPE" {
                    if types[name] != nil || samples.contains(where: { $0.family == name }) {
                        problems.append("family \(name) declared twice or after its samples")
                    }
                    types[name] = String(parts[3])
                    current = name
                } else {
                    if name != current { problems.append("HELP for \(name) outside its family") }
                    helps.insert(name)
                }
                continue
            }
            guard !line.hasPrefix("#"), !line.isEmpty else {
                problems.append("unexpected line: '\(line)'")
                continue
            }
            guard let sample = Sample(line) else {
                problems.append("unparsable sample: \(line)")
                continue
            }
            guard let family = current else {
                problems.append("sample before any family: \(line)")
                continue
            }
            samples.append((family, sample))
        }
    }

    func samples(of family: String) -> [Sample] { samples.filter { $0.family == family }.map(\.sample) }
}

private func exposition(_ report: StatusReport) -> (text: String, parsed: Exposition) {
    let text = String(decoding: report.openMetrics, as: UTF8.self)
    return (text, Exposition(text))
}

@Suite("StatusReport")
struct StatusReportTests {
    // MARK: JSON

    @Test func jsonIsValidAndHasEveryField() throws {
        let document = try #require(JSONValue.parse(report().json))
        #expect(document["version"]?.stringValue == Config.version)
        #expect(number(document["uptime_seconds"]) == 123.5)
        #expect(number(document["workers"]?["total"]) == 32)
        #expect(number(document["workers"]?["busy"]) == 3)
        #expect(number(document["workers"]?["idle"]) == 29)
        #expect(number(document["requests"]?["token"]?["200"]) == 6)
        #expect(number(document["requests"]?["token"]?["429"]) == 1)
        #expect(number(document["requests"]?["token"]?["503"]) == 1)
        #expect(number(document["requests"]?["init.js"]?["304"]) == 1)
        #expect(number(document["requests"]?["status"]?["200"]) == 1)
        #expect(number(document["upstream"]?["calls"]?["token"]) == 11)
        #expect(number(document["upstream"]?["calls"]?["upstream_timeout"]) == 1)
        #expect(number(document["upstream"]?["calls"]?["unknown_contact"]) == 1)
        #expect(number(document["upstream"]?["in_flight"]) == 2)
        #expect(number(document["upstream"]?["rejected_at_capacity"]) == 1)
        #expect(number(document["upstream"]?["latency_ms"]?["count"]) == 13)
        #expect(number(document["upstream"]?["latency_ms"]?["sum"]) == 22_696)
        #expect(number(document["coalesced"]) == 1)
        #expect(document["cache"]?["enabled"] == .bool(true))
        #expect(number(document["cache"]?["hits"]) == 2)
        #expect(number(document["cache"]?["misses"]) == 1)
        #expect(number(document["cache"]?["evictions"]) == 7)
        #expect(number(document["cache"]?["size"]) == 40)
        #expect(number(document["rate_limited"]) == 1)
        #expect(document["signed_identity"]?["enabled"] == .bool(true))
        #expect(number(document["signed_identity"]?["verified"]) == 1)
        #expect(number(document["signed_identity"]?["remembered"]) == 4)
        #expect(number(document["signed_identity"]?["refused"]) == 2)
        #expect(document["breaker"]?["state"]?.stringValue == "open")
        #expect(number(document["breaker"]?["opened"]) == 1)
        #expect(number(document["breaker"]?["rejected"]) == 3)
    }

    @Test func jsonLatencyBucketsAreCumulative() throws {
        let document = try #require(JSONValue.parse(report().json))
        let buckets = try #require(members(document["upstream"]?["latency_ms"]?["buckets"]))
        let bounds = Metrics.latencyBucketsMs.map { String(Int($0)) }
        #expect(Set(buckets.keys) == Set(bounds + ["+Inf"]))
        let counts = try bounds.map { try #require(number(buckets[$0])) }
        // ≤5: 1, 4, 5 · ≤10: 7 · ≤25: 20 · ≤50: 30, 30 · ≤250: 120 · ≤500: 480 · ≤1000: 999 ·
        // ≤5000: 4 000, 5 000 · 12 000 only in +Inf.
        #expect(counts == [3, 4, 5, 7, 7, 8, 9, 10, 10, 12, 12])
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(number(buckets["+Inf"]) == 13)
        #expect(number(buckets["+Inf"]) == number(document["upstream"]?["latency_ms"]?["count"]))
    }

    @Test func jsonOfAFreshProcess() throws {
        let fresh = StatusReport(
            counters: Metrics.Counters(), uptimeSeconds: 0, workers: 4, busyWorkers: 0, upstreamInFlight: 0,
            cacheEnabled: false, cacheSize: 0, cacheEvictions: 0, breaker: CircuitBreaker(threshold: 5, cooldownSeconds: 10))
        let document = try #require(JSONValue.parse(fresh.json))
        #expect(document["requests"] == .object([:]))
        #expect(document["upstream"]?["calls"] == .object([:]))
        #expect(number(document["upstream"]?["latency_ms"]?["buckets"]?["+Inf"]) == 0)
        #expect(document["cache"]?["enabled"] == .bool(false))
        #expect(document["breaker"]?["state"]?.stringValue == "closed")
        #expect(number(document["workers"]?["idle"]) == 4)
    }

    @Test func limitsAreShownByName() throws {
        var status = report()
        status.limits = ["idle_timeout_s": 10, "max_upstream": 24]
        let document = try #require(JSONValue.parse(status.json))
        #expect(number(document["limits"]?["idle_timeout_s"]) == 10)
        #expect(number(document["limits"]?["max_upstream"]) == 24)
        let text = String(decoding: status.openMetrics, as: UTF8.self)
        #expect(text.contains("app_inbox_limit{name=\"idle_timeout_s\"} 10\n"))
        #expect(text.contains("app_inbox_limit{name=\"max_upstream\"} 24\n"))
    }

    @Test func descriptorsAreShownWhenKnownAndNullWhenNot() throws {
        var status = report()
        #expect(try #require(JSONValue.parse(status.json))["descriptors"] == .object(["open": .null, "limit": .null]))
        #expect(!String(decoding: status.openMetrics, as: UTF8.self).contains("app_inbox_open_fds"))
        status.openDescriptors = 1_234
        status.descriptorLimit = 65_536
        let document = try #require(JSONValue.parse(status.json))
        #expect(number(document["descriptors"]?["open"]) == 1_234)
        #expect(number(document["descriptors"]?["limit"]) == 65_536)
        let text = String(decoding: status.openMetrics, as: UTF8.self)
        #expect(text.contains("app_inbox_open_fds 1234\n"))
        #expect(text.contains("app_inbox_max_fds 65536\n"))
    }

    @Test func jsonIdleWorkersNeverGoNegative() throws {
        let document = try #require(JSONValue.parse(report(workers: 2, busy: 5).json))
        #expect(number(document["workers"]?["idle"]) == 0)
    }

    @Test(arguments: [0.0, 0.04, 1e-9, 86_400.05, 3e9])
    func jsonStaysValidForAnyUptime(_ uptime: Double) throws {
        let status = StatusReport(
            counters: busyCounters(), uptimeSeconds: uptime, workers: 1, busyWorkers: 1, upstreamInFlight: 0,
            cacheEnabled: true, cacheSize: 0, cacheEvictions: 0, breaker: CircuitBreaker(threshold: 1, cooldownSeconds: 1))
        let document = try #require(JSONValue.parse(status.json))
        #expect(number(document["uptime_seconds"]) != nil)
    }

    @Test func jsonShowsTheHalfOpenBreaker() throws {
        var breaker = openBreaker()
        _ = breaker.decide(nowMs: 10_000)
        let document = try #require(JSONValue.parse(report(breaker: breaker).json))
        #expect(document["breaker"]?["state"]?.stringValue == "half_open")
    }

    // MARK: OpenMetrics

    @Test func openMetricsEndsWithEOF() {
        let (text, _) = exposition(report())
        #expect(text.hasSuffix("\n# EOF\n"))
        #expect(text.split(separator: "\n").filter { $0 == "# EOF" }.count == 1)
        #expect(!text.contains("\n\n"))
    }

    @Test func everySampleBelongsToItsDeclaredFamily() {
        let (_, parsed) = exposition(report())
        #expect(parsed.problems == [])
        #expect(!parsed.samples.isEmpty)
        for (family, sample) in parsed.samples {
            guard let type = parsed.types[family] else {
                Issue.record("\(sample.name) has no TYPE")
                continue
            }
            let allowed = (Exposition.suffixes[type] ?? []).map { family + $0 }
            #expect(allowed.contains(sample.name), "\(sample.name) in \(type) family \(family)")
        }
        for family in parsed.types.keys {
            #expect(parsed.helps.contains(family), "\(family) has no HELP")
        }
    }

    @Test func familiesCoverTheIssuesList() {
        let (_, parsed) = exposition(report())
        for (family, type) in [
            ("app_inbox_uptime_seconds", "gauge"), ("app_inbox_requests", "counter"), ("app_inbox_upstream_calls", "counter"),
            ("app_inbox_upstream_latency_seconds", "histogram"), ("app_inbox_upstream_in_flight", "gauge"),
            ("app_inbox_coalesced_requests", "counter"), ("app_inbox_cache_hits", "counter"),
            ("app_inbox_cache_misses", "counter"), ("app_inbox_cache_evictions", "counter"),
            ("app_inbox_rate_limited", "counter"), ("app_inbox_breaker_state", "stateset"),
            ("app_inbox_workers", "gauge"), ("app_inbox_workers_busy", "gauge"), ("app_inbox_identity_tokens", "counter"),
        ] {
            #expect(parsed.types[family] == type, "\(family)")
        }
    }

    @Test func counterSamplesEndInTotal() {
        let (_, parsed) = exposition(report())
        let counters = parsed.samples.filter { parsed.types[$0.family] == "counter" }
        #expect(counters.count >= 10)
        for (family, sample) in counters {
            #expect(sample.name == family + "_total", "\(sample.name)")
            #expect(sample.value >= 0)
        }
    }

    @Test func countersCarryTheFigures() {
        let (_, parsed) = exposition(report())
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            parsed.samples.first { $0.sample.name == name && $0.sample.labels == labels }?.sample.value
        }
        #expect(value("app_inbox_requests_total", ["route": "token", "status": "200"]) == 6)
        #expect(value("app_inbox_requests_total", ["route": "token", "status": "429"]) == 1)
        #expect(value("app_inbox_requests_total", ["route": "init.js", "status": "304"]) == 1)
        #expect(value("app_inbox_upstream_calls_total", ["outcome": "upstream_timeout"]) == 1)
        #expect(value("app_inbox_upstream_in_flight") == 2)
        #expect(value("app_inbox_upstream_rejected_at_capacity_total") == 1)
        #expect(value("app_inbox_coalesced_requests_total") == 1)
        #expect(value("app_inbox_cache_hits_total") == 2)
        #expect(value("app_inbox_cache_misses_total") == 1)
        #expect(value("app_inbox_cache_evictions_total") == 7)
        #expect(value("app_inbox_cache_entries") == 40)
        #expect(value("app_inbox_rate_limited_total") == 1)
        #expect(value("app_inbox_identity_tokens_total", ["outcome": "remembered"]) == 4)
        #expect(value("app_inbox_identity_tokens_total", ["outcome": "refused"]) == 2)
        #expect(value("app_inbox_breaker_opened_total") == 1)
        #expect(value("app_inbox_breaker_rejected_total") == 3)
        #expect(value("app_inbox_workers") == 32)
        #expect(value("app_inbox_workers_busy") == 3)
        #expect(value("app_inbox_uptime_seconds") == 123.456)
    }

    @Test func histogramBucketsAreCumulativeAndInfEqualsCount() throws {
        let (_, parsed) = exposition(report())
        let family = "app_inbox_upstream_latency_seconds"
        let samples = parsed.samples(of: family)
        let buckets = samples.filter { $0.name == family + "_bucket" }
        #expect(buckets.count == Metrics.latencyBucketsMs.count + 1)
        #expect(buckets.last?.labels["le"] == "+Inf")
        let bounds = buckets.dropLast().compactMap { $0.labels["le"].flatMap(Double.init) }
        #expect(bounds == Metrics.latencyBucketsMs.map { $0 / 1000 })
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
        for bucket in buckets.dropLast() {
            // Canonical numbers: floats keep their point ("1.0", not "1").
            let le = bucket.labels["le"] ?? ""
            #expect(le.contains(".") || le.contains("e"), "le=\(le)")
        }
        let counts = buckets.map(\.value)
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(counts == [3, 4, 5, 7, 7, 8, 9, 10, 10, 12, 12, 13])
        let count = try #require(samples.first { $0.name == family + "_count" })
        let sum = try #require(samples.first { $0.name == family + "_sum" })
        #expect(buckets.last?.value == count.value)
        #expect(count.value == 13)
        #expect(abs(sum.value - 22.696) < 1e-9)
    }

    @Test(arguments: ["closed", "open", "half_open"])
    func breakerStateSetHasExactlyTheCurrentStateSet(_ state: String) {
        var breaker = CircuitBreaker(threshold: 1, cooldownSeconds: 1)
        if state != "closed" { breaker.record(failed: true, nowMs: 0) }
        if state == "half_open" { _ = breaker.decide(nowMs: 1_000) }
        #expect(breaker.phase.rawValue == state)
        let (_, parsed) = exposition(report(breaker: breaker))
        let states = parsed.samples(of: "app_inbox_breaker_state")
        #expect(states.count == 3)
        #expect(states.allSatisfy { $0.name == "app_inbox_breaker_state" })
        #expect(states.filter { $0.value == 1 }.map { $0.labels["app_inbox_breaker_state"] } == [state])
        #expect(states.filter { $0.value == 0 }.count == 2)
    }

    @Test func openMetricsOfAFreshProcessIsWellFormed() {
        let fresh = StatusReport(
            counters: Metrics.Counters(), uptimeSeconds: 0.5, workers: 4, busyWorkers: 0, upstreamInFlight: 0,
            cacheEnabled: false, cacheSize: 0, cacheEvictions: 0, breaker: CircuitBreaker(threshold: 5, cooldownSeconds: 10))
        let (text, parsed) = exposition(fresh)
        #expect(text.hasSuffix("# EOF\n"))
        #expect(parsed.problems == [])
        #expect(parsed.samples(of: "app_inbox_requests").isEmpty)
        let buckets = parsed.samples(of: "app_inbox_upstream_latency_seconds").filter { $0.name.hasSuffix("_bucket") }
        #expect(buckets.count == Metrics.latencyBucketsMs.count + 1)
        #expect(buckets.allSatisfy { $0.value == 0 })
    }
}
