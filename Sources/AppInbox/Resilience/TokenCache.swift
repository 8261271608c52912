/// Opt-in cache of tokens by identity key, bounded in size, oldest entry evicted first.
public final class TokenCache: Sendable {
    struct Entry {
        var token: String
        var expiresMs: Double
        var order: UInt64
    }

    struct Table {
        var entries: [IdentityKey: Entry] = [:]
        /// Keys in insertion order; a key whose entry was replaced since is skipped on eviction.
        var queue: [(key: IdentityKey, order: UInt64)] = []
        var queueHead = 0
        var nextOrder: UInt64 = 0
        var evictions = 0
    }

    private let table = ReadWriteLock(Table())
    private let capacity: Int

    /// Creates a cache holding at most `capacity` identities.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The cached token, if one is there and not expired. Hits take only the shared lock; an
    /// expired entry is dropped under the exclusive one (rare: once per entry).
    public func lookup(_ key: IdentityKey, nowMs: Double) -> String? {
        let found = table.read { $0.entries[key] }
        guard let found else { return nil }
        if found.expiresMs > nowMs { return found.token }
        table.write { table in
            if table.entries[key]?.order == found.order { table.entries[key] = nil }
        }
        return nil
    }

    /// Stores (or replaces) a token for `ttlSeconds`; evicts the oldest entry when full. A TTL of
    /// 0 removes the entry instead, so a `fresh=1` answer never leaves an invalidated token behind.
    public func store(_ key: IdentityKey, token: String, ttlSeconds: Int, nowMs: Double) {
        guard ttlSeconds > 0 else {
            _ = table.write { $0.entries.removeValue(forKey: key) }
            return
        }
        table.write { table in
            table.nextOrder += 1
            let order = table.nextOrder
            table.entries[key] = Entry(token: token, expiresMs: nowMs + Double(ttlSeconds) * 1000, order: order)
            table.queue.append((key, order))
            while table.entries.count > capacity, table.queueHead < table.queue.count {
                let oldest = table.queue[table.queueHead]
                table.queueHead += 1
                if table.entries[oldest.key]?.order == oldest.order {
                    table.entries[oldest.key] = nil
                    table.evictions += 1
                }
            }
            // Re-stored keys leave stale places in the queue; rebuild it from the live entries
            // once stale places outnumber them, so the queue stays proportional to the cache.
            if table.queue.count - table.queueHead > 2 * table.entries.count + 1024 {
                table.queue = table.entries.map { ($0.key, $0.value.order) }.sorted { $0.order < $1.order }
                table.queueHead = 0
            }
        }
    }

    /// Entries held and evictions so far (for `status`).
    public var stats: (size: Int, evictions: Int) {
        table.read { ($0.entries.count, $0.evictions) }
    }
}
