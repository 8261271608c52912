/// Requests per identity per minute, as a generic cell rate algorithm: each identity keeps
/// one number (when its allowance is next fully restored), so memory stays small, and entries
/// that are fully restored are swept when the table passes its bound.
public final class RateLimiter: Sendable {
    private let rate: CellRate
    private let maxEntries: Int
    /// Every request writes its identity's entry, so one lock would serialise all workers; an
    /// identity always lands in the same shard, so sharding changes nothing else.
    private let shards: [Shard]

    private final class Shard: Sendable {
        let table = Locked([IdentityKey: Double]())
    }

    /// Allows `perMinute` requests per identity in any minute; remembers at most `maxEntries`.
    public init(perMinute: Int, maxEntries: Int = 100_000) {
        rate = CellRate(perMinute: perMinute)
        let shardCount = maxEntries >= 1024 ? 16 : 1
        self.maxEntries = maxEntries / shardCount
        shards = (0..<shardCount).map { _ in Shard() }
    }

    /// nil when the request may go ahead; otherwise the seconds until it would.
    public func admit(_ key: IdentityKey, nowMs: Double) -> Int? {
        let (rate, maxEntries) = (rate, maxEntries)
        return shards[Int(key.digest.words.1 % UInt64(shards.count))].table.withLock { table in
            var theoretical = table[key] ?? nowMs
            if let retryAfter = rate.admit(&theoretical, nowMs: nowMs) { return retryAfter }
            table[key] = theoretical
            if table.count > maxEntries {
                table = table.filter { $0.value > nowMs }
                // Still near the bound: every entry is active; forgetting some only makes the limit
                // laxer. Going down to 90% keeps the next sweeps from running on every request.
                while table.count > maxEntries * 9 / 10, let any = table.first?.key { table[any] = nil }
            }
            return nil
        }
    }

    /// Identities currently remembered.
    public var size: Int { shards.reduce(0) { $0 + $1.table.withLock { $0.count } } }
}
