/// Renders the `status` route: JSON by default, OpenMetrics text with `?format=prometheus`.
struct StatusReport {
    let counters: Metrics.Counters
    let uptimeSeconds: Double
    let workers: Int
    let busyWorkers: Int
    let upstreamInFlight: Int
    let cacheEnabled: Bool
    var signedIdentityEnabled = false
    let cacheSize: Int
    let cacheEvictions: Int
    let breaker: CircuitBreaker
    /// The longest listen queue seen, when the transport can tell (TCP listening sockets).
    var listenQueueMax: Int? = nil
    /// Descriptors open now and the soft limit (each kept connection holds one), when known.
    var openDescriptors: Int? = nil
    var descriptorLimit: Int? = nil
    /// Fleet mode's Redis state and counters; nil when fleet mode is off.
    var fleet: (state: String, stats: RedisStats)? = nil
    /// The limits in force, by name, so that each reads next to what it limits.
    var limits: KeyValuePairs<String, Int> = [:]

    var json: [UInt8] {
        let out = JSONWriter()
        out.object {
            out.field("version") { out.string(Config.version) }
            out.field("uptime_seconds") { out.number((uptimeSeconds * 10).rounded() / 10) }
            out.field("workers") {
                out.object {
                    out.field("total") { out.number(workers) }
                    out.field("busy") { out.number(busyWorkers) }
                    out.field("idle") { out.number(max(0, workers - busyWorkers)) }
                }
            }
            out.field("requests") {
                out.object {
                    for route in counters.requests.keys.sorted() {
                        out.field(route) {
                            out.object {
                                for (status, count) in counters.requests[route]!.sorted(by: { $0.key < $1.key }) {
                                    out.field(String(status)) { out.number(count) }
                                }
                            }
                        }
                    }
                }
            }
            out.field("upstream") {
                out.object {
                    out.field("calls") {
                        out.object {
                            for (outcome, count) in counters.upstreamCalls.sorted(by: { $0.key < $1.key }) {
                                out.field(outcome) { out.number(count) }
                            }
                        }
                    }
                    out.field("in_flight") { out.number(upstreamInFlight) }
                    out.field("rejected_at_capacity") { out.number(counters.upstreamCapRejected) }
                    out.field("rejected_over_budget") { out.number(counters.budgetRejected) }
                    out.field("latency_ms") {
                        out.object {
                            out.field("buckets") {
                                out.object {
                                    var cumulative = 0
                                    for (bound, count) in zip(Metrics.latencyBucketsMs, counters.latencyBuckets) {
                                        cumulative += count
                                        out.field(String(Int(bound))) { out.number(cumulative) }
                                    }
                                    out.field("+Inf") { out.number(counters.latencyCount) }
                                }
                            }
                            out.field("count") { out.number(counters.latencyCount) }
                            out.field("sum") { out.number((counters.latencySumMs * 10).rounded() / 10) }
                        }
                    }
                }
            }
            out.field("coalesced") { out.number(counters.coalesced) }
            out.field("cache") {
                out.object {
                    out.field("enabled") { out.bool(cacheEnabled) }
                    out.field("hits") { out.number(counters.cacheHits) }
                    out.field("misses") { out.number(counters.cacheMisses) }
                    out.field("evictions") { out.number(cacheEvictions) }
                    out.field("size") { out.number(cacheSize) }
                }
            }
            out.field("rate_limited") { out.number(counters.rateLimited) }
            out.field("signed_identity") {
                out.object {
                    out.field("enabled") { out.bool(signedIdentityEnabled) }
                    out.field("verified") { out.number(counters.tokensVerified) }
                    out.field("remembered") { out.number(counters.tokensRemembered) }
                    out.field("refused") { out.number(counters.tokensRefused) }
                }
            }
            out.field("listen_queue_max") {
                if let listenQueueMax { out.number(listenQueueMax) } else { out.null() }
            }
            out.field("limits") {
                out.object {
                    for (name, value) in limits { out.field(name) { out.number(value) } }
                }
            }
            out.field("descriptors") {
                out.object {
                    out.field("open") { if let openDescriptors { out.number(openDescriptors) } else { out.null() } }
                    out.field("limit") { if let descriptorLimit { out.number(descriptorLimit) } else { out.null() } }
                }
            }
            out.field("fleet") {
                out.object {
                    out.field("enabled") { out.bool(fleet != nil) }
                    if let fleet {
                        out.field("redis") { out.string(fleet.state) }
                        out.field("latency_ms") { out.number((fleet.stats.latencyMs * 1000).rounded() / 1000) }
                        out.field("round_trips") { out.number(fleet.stats.roundTrips) }
                        out.field("errors") { out.number(fleet.stats.errors) }
                        out.field("timeouts") { out.number(fleet.stats.timeouts) }
                        out.field("connects") { out.number(fleet.stats.connects) }
                        out.field("disconnects") { out.number(fleet.stats.disconnects) }
                        out.field("fallbacks") { out.number(fleet.stats.fallbacks) }
                        out.field("members") { out.number(fleet.stats.members) }
                    }
                }
            }
            out.field("breaker") {
                out.object {
                    out.field("state") { out.string(breaker.phase.rawValue) }
                    out.field("opened") { out.number(breaker.openCount) }
                    out.field("rejected") { out.number(counters.breakerRejected) }
                }
            }
        }
        return out.bytes
    }
}
